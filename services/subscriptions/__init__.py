"""Buyer subscriptions (saved searches, optionally pushed to a webhook): their filters and
the pure matching of one lead against them. The API is in services/exporter/subscriptions_api.py;
delivery is the notifier's."""
