"""The Flask front end: validates requests, queues jobs, answers with their state."""

__all__ = ["app"]
