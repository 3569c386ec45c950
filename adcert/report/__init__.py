"""Evidence → figures and the safety-case report."""
