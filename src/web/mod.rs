//! Browser layer (issue 3).
