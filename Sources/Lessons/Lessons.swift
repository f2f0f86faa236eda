/// Step-by-step lessons; each returns deterministic text for its seed.
public enum Lessons {}
