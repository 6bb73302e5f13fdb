"""Webhooks: subscriptions (secrets sealed), deliveries, their targets, and their API."""
