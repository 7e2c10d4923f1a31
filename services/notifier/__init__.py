"""The notifier: leads.stored events → matching subscriptions → signed webhooks."""
