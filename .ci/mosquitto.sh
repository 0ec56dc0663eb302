#!/usr/bin/env bash
# CI: make sure the MQTT broker the Home Assistant tests use (Mosquitto at 127.0.0.1:1883) is
# running: install it from the OS packages if missing, start it if it is not; fail loudly if it
# still does not answer, so the MQTT tests never silently skip in CI.
set -uo pipefail

ready() { (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; }

if ready; then
  echo "mosquitto.sh: Mosquitto is ready on 127.0.0.1:1883"
  exit 0
fi
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "mosquitto.sh: installing mosquitto (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null || {
    echo "mosquitto.sh: could not install mosquitto" >&2
    exit 1
  }
fi
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
echo "mosquitto.sh: starting $mosquitto_bin"
if [ -f /etc/mosquitto/mosquitto.conf ]; then
  "$mosquitto_bin" -d -c /etc/mosquitto/mosquitto.conf
else
  "$mosquitto_bin" -d -p 1883
fi
for _ in $(seq 1 30); do
  ready && break
  sleep 1
done
if ! ready; then
  echo "mosquitto.sh: Mosquitto did not answer on 127.0.0.1:1883" >&2
  exit 1
fi
echo "mosquitto.sh: Mosquitto is ready on 127.0.0.1:1883"
