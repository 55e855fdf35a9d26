"""Order-book reconstruction: an exact, fast replay of the curated order journal."""
