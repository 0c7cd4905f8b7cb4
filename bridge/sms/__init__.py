"""Carrier adapter: Vonage."""
