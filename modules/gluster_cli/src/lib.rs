//! gluster CLI parsers.
