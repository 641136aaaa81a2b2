//! AT command framing and a sans-IO command channel (work in progress).
