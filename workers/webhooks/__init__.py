"""Webhook deliveries: the Celery task that POSTs a finished job to its callback URL."""
