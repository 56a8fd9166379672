//! Mock provider and load generator shared code.
