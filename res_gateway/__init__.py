"""The RES gateway: WebSocket and HTTP clients, one shared cache, RES services over NATS."""
