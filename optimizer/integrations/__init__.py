"""See it and plug it in: views of the running service for people and other systems.

``snapshot`` (the read-only ``Snapshot`` the service publishes and the ``Observer`` protocol),
``switch`` (the persisted "optimiser enabled" switch), ``accounts`` (one row per local day from
the stored readings and prices), ``metrics`` (Prometheus), ``web`` (the status page, its JSON
and ``/metrics`` on one HTTP listener) and ``mqtt`` (Home Assistant over MQTT discovery).

Every view reads a ``Snapshot`` and the store, never the service object; nothing here imports
the service or the CLI, and nothing here can stop a command the battery needs: the service side
(``optimizer.service.observe``) wraps every call into these modules.
"""
