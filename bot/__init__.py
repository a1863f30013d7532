"""deal-bot: answers questions about the 2025 Microsoft-OpenAI agreement with verbatim quotes."""

__version__ = "0.1.0"
