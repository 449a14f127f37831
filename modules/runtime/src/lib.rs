//! Ansible binary-module protocol runtime.
