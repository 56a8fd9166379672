//! TODO(skeleton): proxy
