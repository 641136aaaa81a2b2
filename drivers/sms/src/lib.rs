//! SMS PDU codec (work in progress).
