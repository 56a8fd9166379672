//! TODO(skeleton): json
