"""Malware scanning: the clamd client, and the policy that fails closed."""
