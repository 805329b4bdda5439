"""msgspec structs at the HTTP edge: request bodies (…Create/…Update) and responses (…Read)."""
