//! Vehicle and driver matching: deterministic keys first, then fuzzy scoring with blocking.
