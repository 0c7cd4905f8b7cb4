"""The core rules of the bridge, over plain domain values. Imports no Slack or Vonage SDK."""
