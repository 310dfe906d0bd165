//! The lock-free concurrent engine (filled in by the engine issue).
