"""The LLM gateway: agents' model traffic is inspected, then forwarded, redacted,
routed or blocked.  See docs/gateway.md."""
