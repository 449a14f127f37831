//! GlusterFS modules.
