//! Broken plugin files for the tests of plugin loading: C plugins built from `tests/plugins/`
//! with the public header, and truncated copies of real ones.

use std::path::Path;

/// Builds the C plugin `tests/plugins/<source>` into `plugins` as `libm2mhal_driver_<name>.so`
/// (needs a C compiler, `cc`).
pub fn build_c_plugin(plugins: &Path, source: &str, name: &str) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let built = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-I"])
        .arg(manifest.join("../plugin-api/include"))
        .arg("-o")
        .arg(plugins.join(format!("libm2mhal_driver_{name}.so")))
        .arg(manifest.join("plugins").join(source))
        .status()
        .expect("a C compiler (cc)");
    assert!(built.success(), "{source} builds");
}

/// Writes a copy of the shared library `library` to `copy`, cut off halfway through the part the
/// dynamic loader maps (so mapping it succeeds, and touching its second half faults with SIGBUS,
/// as a plugin cut short by a full disk or an interrupted copy does).
pub fn write_truncated(library: &Path, copy: &Path) {
    let bytes = std::fs::read(library).expect("read the library");
    let cut = mapped_end(&bytes) / 2;
    std::fs::write(copy, &bytes[..cut]).expect("write the truncated copy");
}

/// Where the last `PT_LOAD` segment of a 64-bit little-endian ELF file ends in the file.
fn mapped_end(elf: &[u8]) -> usize {
    const PT_LOAD: u32 = 1;
    let read = |at: usize, len: usize| -> u64 {
        let mut bytes = [0u8; 8];
        bytes[..len].copy_from_slice(&elf[at..at + len]);
        u64::from_le_bytes(bytes)
    };
    assert_eq!(
        &elf[..6],
        b"\x7fELF\x02\x01",
        "a 64-bit little-endian ELF file"
    );
    let (table, entry_size, entries) = (read(0x20, 8), read(0x36, 2), read(0x38, 2));
    (0..entries)
        .map(|i| usize::try_from(table + i * entry_size).expect("header offset"))
        .filter(|&header| read(header, 4) == u64::from(PT_LOAD))
        .map(|header| read(header + 8, 8) + read(header + 32, 8))
        .max()
        .and_then(|end| usize::try_from(end).ok())
        .expect("a loadable segment")
}
