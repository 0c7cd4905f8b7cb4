"""The email adapter: inbound mail read into domain values, staff replies sent by SMTP."""
