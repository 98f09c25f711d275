"""Text models for review and service text, Chinese and English: language, tokens,
sentiment, aspects and topics, intent and answer retrieval. No SQL in here."""
