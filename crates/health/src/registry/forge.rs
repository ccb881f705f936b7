//! A minimal regf (registry hive) writer, for tests, fuzz seeds and the
//! demo: keys, values (REG_SZ, DWORD, QWORD, MULTI_SZ, BINARY) in one hive
//! bin, `lf` subkey lists, a valid base block checksum.
//!
//! notatin reads hives but cannot write them, and real hives from servers
//! cannot be committed; this writes the few keys a test needs in the
//! format Windows uses (regf 1.5, as documented in Maxim Suhanov's
//! "Windows registry file format specification"). It is never used on
//! evidence.

use std::collections::BTreeMap;

use super::RegData;
use super::hive::base_block_checksum;

/// A key being built.
#[derive(Debug, Clone, Default)]
struct Node {
    name: String,
    values: Vec<(String, RegData)>,
    children: BTreeMap<String, Node>,
}

/// Builds a hive in memory.
#[derive(Debug, Clone)]
pub struct HiveBuilder {
    root: Node,
}

impl Default for HiveBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl HiveBuilder {
    /// An empty hive whose root key is `ROOT`.
    pub fn new() -> Self {
        HiveBuilder { root: Node { name: "ROOT".into(), ..Node::default() } }
    }

    fn node(&mut self, path: &str) -> &mut Node {
        let mut cur = &mut self.root;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            cur =
                cur.children.entry(part.to_ascii_uppercase()).or_insert_with(
                    || Node { name: part.to_string(), ..Node::default() },
                );
        }
        cur
    }

    /// Make sure a key exists.
    pub fn key(&mut self, path: &str) -> &mut Self {
        self.node(path);
        self
    }

    /// Set a value (`path` below the root, `\`-separated).
    pub fn value(
        &mut self,
        path: &str,
        name: &str,
        data: RegData,
    ) -> &mut Self {
        self.node(path).values.push((name.to_string(), data));
        self
    }

    /// The hive file's bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut w = Writer { data: vec![0; 32] };
        let root = w.node(&self.root, 0, true);
        let mut size = w.data.len().div_ceil(4096) * 4096;
        if size - w.data.len() < 8 && size != w.data.len() {
            size += 4096;
        }
        let free = size - w.data.len();
        if free > 0 {
            let at = w.data.len();
            w.data.resize(size, 0);
            w.data[at..at + 4].copy_from_slice(&(free as i32).to_le_bytes());
        }
        w.data[..4].copy_from_slice(b"hbin");
        w.data[8..12].copy_from_slice(&(size as u32).to_le_bytes());
        let mut out = base_block(root, size as u32);
        out.extend_from_slice(&w.data);
        out
    }
}

fn base_block(root: u32, bins: u32) -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    b[..4].copy_from_slice(b"regf");
    let put = |b: &mut Vec<u8>, at: usize, v: u32| {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    };
    put(&mut b, 4, 1);
    put(&mut b, 8, 1);
    put(&mut b, 20, 1);
    put(&mut b, 24, 5);
    put(&mut b, 32, 1);
    put(&mut b, 36, root);
    put(&mut b, 40, bins);
    put(&mut b, 44, 1);
    let sum = base_block_checksum(&b[..508]);
    put(&mut b, 508, sum);
    b
}

struct Writer {
    data: Vec<u8>,
}

const NONE: u32 = u32::MAX;

impl Writer {
    /// Allocate a cell for `body` bytes; returns its offset.
    fn cell(&mut self, body: &[u8]) -> u32 {
        let at = self.data.len();
        let size = (body.len() + 4).div_ceil(8) * 8;
        self.data.extend_from_slice(&(-(size as i32)).to_le_bytes());
        self.data.extend_from_slice(body);
        self.data.resize(at + size, 0);
        at as u32
    }

    fn patch(&mut self, cell: u32, field: usize, v: u32) {
        let at = cell as usize + 4 + field;
        self.data[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn node(&mut self, n: &Node, parent: u32, root: bool) -> u32 {
        let mut nk = Vec::with_capacity(76 + n.name.len());
        nk.extend_from_slice(b"nk");
        nk.extend_from_slice(
            &(if root { 0x2cu16 } else { 0x20 }).to_le_bytes(),
        );
        nk.extend_from_slice(&[0; 8]); // last written
        nk.extend_from_slice(&0u32.to_le_bytes()); // access bits
        nk.extend_from_slice(&parent.to_le_bytes());
        for v in [0, 0, NONE, NONE, 0, NONE, NONE, NONE, 0, 0, 0, 0, 0] {
            nk.extend_from_slice(&u32::to_le_bytes(v));
        }
        nk.extend_from_slice(&(n.name.len() as u16).to_le_bytes());
        nk.extend_from_slice(&0u16.to_le_bytes());
        nk.extend_from_slice(n.name.as_bytes());
        let me = self.cell(&nk);
        if !n.values.is_empty() {
            let list: Vec<u32> =
                n.values.iter().map(|(k, v)| self.value(k, v)).collect();
            let bytes: Vec<u8> =
                list.iter().flat_map(|o| o.to_le_bytes()).collect();
            let at = self.cell(&bytes);
            self.patch(me, 36, n.values.len() as u32);
            self.patch(me, 40, at);
        }
        if !n.children.is_empty() {
            let kids: Vec<(u32, &str)> = n
                .children
                .values()
                .map(|c| (self.node(c, me, false), c.name.as_str()))
                .collect();
            let mut lf = b"lf".to_vec();
            lf.extend_from_slice(&(kids.len() as u16).to_le_bytes());
            for (off, name) in &kids {
                lf.extend_from_slice(&off.to_le_bytes());
                let mut hint = [0u8; 4];
                for (h, b) in hint.iter_mut().zip(name.bytes()) {
                    *h = b;
                }
                lf.extend_from_slice(&hint);
            }
            let at = self.cell(&lf);
            self.patch(me, 20, kids.len() as u32);
            self.patch(me, 28, at);
        }
        me
    }

    fn value(&mut self, name: &str, data: &RegData) -> u32 {
        let (kind, bytes) = encode(data);
        let (size, offset) = if bytes.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..bytes.len()].copy_from_slice(&bytes);
            (bytes.len() as u32 | 0x8000_0000, u32::from_le_bytes(inline))
        } else {
            (bytes.len() as u32, self.cell(&bytes))
        };
        let mut vk = b"vk".to_vec();
        vk.extend_from_slice(&(name.len() as u16).to_le_bytes());
        vk.extend_from_slice(&size.to_le_bytes());
        vk.extend_from_slice(&offset.to_le_bytes());
        vk.extend_from_slice(&kind.to_le_bytes());
        vk.extend_from_slice(&1u16.to_le_bytes()); // ASCII name
        vk.extend_from_slice(&0u16.to_le_bytes());
        vk.extend_from_slice(name.as_bytes());
        self.cell(&vk)
    }
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
}

fn encode(data: &RegData) -> (u32, Vec<u8>) {
    match data {
        RegData::Str(s) => (1, utf16z(s)),
        RegData::Dword(v) => (4, v.to_le_bytes().to_vec()),
        RegData::Qword(v) => (11, v.to_le_bytes().to_vec()),
        RegData::Multi(v) => {
            let mut b: Vec<u8> = v.iter().flat_map(|s| utf16z(s)).collect();
            b.extend_from_slice(&[0, 0]);
            (7, b)
        }
        RegData::Binary(b) => (3, b.clone()),
    }
}
