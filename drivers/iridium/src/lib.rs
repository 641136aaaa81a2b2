//! Iridium SBD driver (work in progress).
