"""Getting a finished report to people: object-storage upload and webhook notifications."""
