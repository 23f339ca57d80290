"""The shared resource cache: resources by name and query, kept current from service events."""

from res_protocol.codec import COLLECTION, MODEL

from .cache import Cache
from .event import CacheEvent, client_collection, client_value, client_values, event_message
from .event_subscription import EventSubscription
from .resource import ResourceSubscription, Subscriber

__all__ = [
    "COLLECTION",
    "MODEL",
    "Cache",
    "CacheEvent",
    "EventSubscription",
    "ResourceSubscription",
    "Subscriber",
    "client_collection",
    "client_value",
    "client_values",
    "event_message",
]
