"""PV forecast sources: fetchers for weather-based PV forecasts (Open-Meteo, forecast.solar,
Solcast). Each module separates fetching (httpx, at the edge) from parsing (pure), as the
tariff sources do; ``model`` holds the one value type they all return.
"""
