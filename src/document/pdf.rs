//! Lays the composed blocks out on A4 pages and writes them as PDF.
//!
//! Two steps: [`Layout`] places every line of text at a position on a page (wrapping by the
//! font's glyph advances, breaking pages, adding the footer with "Seite i von n"); then
//! [`write_pdf`] embeds subsets of DejaVu Sans regular and bold and writes the pages.
//!
//! Fonts are written as Type0/CIDFontType2 fonts. Character codes (CIDs) are numbered per
//! document, one per distinct character, and are the same in both faces; each face maps
//! them to its own glyphs through a `CIDToGIDMap`. So one `ToUnicode` map serves both
//! faces, and every code extracts as exactly the character that was laid out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;
use ttf_parser::GlyphId;

use super::compose::{Align, Block, Table, compose, validate};
use super::{DocumentError, NoticeFacts};

const MM: f32 = 72.0 / 25.4;
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 25.0 * MM;
const RIGHT: f32 = PAGE_W - 20.0 * MM;
const TOP: f32 = PAGE_H - 20.0 * MM;
/// Body text ends above this line; the footer sits below.
const BOTTOM: f32 = 22.0 * MM;
const FOOTER_Y: f32 = 12.0 * MM;

const BODY: f32 = 10.0;
const SMALL: f32 = 8.5;
const TABLE: f32 = 9.0;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.3;
/// Space left and right of the text in a table cell.
const CELL_PAD: f32 = 3.0;

/// Renders the notice: [`validate`], [`compose`], lay out, write. Deterministic.
pub fn render_pdf(f: &NoticeFacts) -> Result<Vec<u8>, DocumentError> {
    validate(f)?;
    let fonts = Fonts::get()?;
    let blocks = compose(f);
    let mut layout = Layout::new(fonts);
    for block in &blocks {
        layout.block(block);
    }
    let pages = layout.finish(&f.number);
    let info = DocInfo {
        title: format!("{} {}", f.kind.title_de(), f.number),
        author: f.authority.name.clone(),
        date: f.dated,
    };
    write_pdf(fonts, &pages, &info)
}

/// Whether a notice can print `c`: both faces of the notice font have a glyph for it, and it
/// is not a control character (line breaks and tabs are layout, not glyphs; the caller decides
/// where they are allowed). What a request may carry in its text (`http::json`): so that
/// every notice's document renders, and with it the number of distinct characters a document
/// can hold stays far below what its character codes can number (the font has about 6,000).
pub fn printable(c: char) -> bool {
    if c.is_control() {
        return false;
    }
    Fonts::get().is_ok_and(|f| FACES.iter().all(|&face| f.glyph(face, c).0 != 0))
}

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Face {
    Regular = 0,
    Bold = 1,
}

const FACES: [Face; 2] = [Face::Regular, Face::Bold];

/// The two faces of DejaVu Sans as compiled into the binary by the `dejavu` crate, parsed
/// once per process, with the glyph and advance of the first `TABLED` characters looked up
/// once (what a German notice uses; others are looked up in the font each time).
struct Fonts {
    data: [&'static [u8]; 2],
    faces: [ttf_parser::Face<'static>; 2],
    tabled: [Vec<(GlyphId, f32)>; 2],
}

/// Characters below this code point have their glyph and advance in `Fonts::tabled`
/// (Basic Latin, Latin-1, Latin Extended-A and B).
const TABLED: u32 = 0x250;

impl Fonts {
    fn get() -> Result<&'static Fonts, DocumentError> {
        static FONTS: OnceLock<Result<Fonts, DocumentError>> = OnceLock::new();
        FONTS
            .get_or_init(Fonts::load)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn load() -> Result<Fonts, DocumentError> {
        let data = [dejavu::sans::regular(), dejavu::sans::bold()];
        let parse = |d: &'static [u8]| {
            ttf_parser::Face::parse(d, 0).map_err(|e| DocumentError::Font(e.to_string()))
        };
        let faces = [parse(data[0])?, parse(data[1])?];
        let table = |f: &ttf_parser::Face<'static>| {
            (0..TABLED)
                .map(|u| {
                    let c = char::from_u32(u).unwrap_or('\0');
                    let g = f.glyph_index(c).unwrap_or(GlyphId(0));
                    (g, Fonts::advance_of(f, g))
                })
                .collect::<Vec<_>>()
        };
        Ok(Fonts {
            tabled: [table(&faces[0]), table(&faces[1])],
            faces,
            data,
        })
    }

    fn face(&self, face: Face) -> &ttf_parser::Face<'static> {
        &self.faces[face as usize]
    }

    /// Advance of glyph `g` in thousandths of the font size (PDF glyph space).
    fn advance_of(f: &ttf_parser::Face<'static>, g: GlyphId) -> f32 {
        let units = f.glyph_hor_advance(g).unwrap_or(0);
        f32::from(units) * 1000.0 / f32::from(f.units_per_em())
    }

    /// The glyph for `c`; 0 (.notdef) where the font has none: the box is drawn, but the
    /// text still extracts as `c`.
    fn glyph(&self, face: Face, c: char) -> GlyphId {
        match self.tabled[face as usize].get(c as usize) {
            Some(&(g, _)) => g,
            None => self.face(face).glyph_index(c).unwrap_or(GlyphId(0)),
        }
    }

    /// Advance of `c` in thousandths of the font size (PDF glyph space).
    fn advance(&self, face: Face, c: char) -> f32 {
        match self.tabled[face as usize].get(c as usize) {
            Some(&(_, a)) => a,
            None => Fonts::advance_of(self.face(face), self.glyph(face, c)),
        }
    }

    fn width(&self, face: Face, size: f32, text: &str) -> f32 {
        text.chars().map(|c| self.advance(face, c)).sum::<f32>() * size / 1000.0
    }

    /// Greedy line breaking at spaces; a word longer than the line is cut. Never breaks
    /// before "€" or "%" or after "§", so amounts and citations stay on one line.
    fn wrap(&self, face: Face, size: f32, text: &str, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for hard in text.split('\n') {
            let mut line = String::new();
            for unit in glued_words(hard) {
                let candidate = if line.is_empty() {
                    unit.clone()
                } else {
                    format!("{line} {unit}")
                };
                if self.width(face, size, &candidate) <= max {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                if self.width(face, size, &unit) <= max {
                    line = unit;
                } else {
                    let mut pieces = self.cut(face, size, &unit, max);
                    line = pieces.pop().unwrap_or_default();
                    lines.extend(pieces);
                }
            }
            lines.push(line);
        }
        lines
    }

    /// Cuts a word that is wider than `max` into pieces that fit (at least one char each).
    fn cut(&self, face: Face, size: f32, word: &str, max: f32) -> Vec<String> {
        let mut pieces = Vec::new();
        let mut piece = String::new();
        let mut width = 0.0;
        for c in word.chars() {
            let w = self.advance(face, c) * size / 1000.0;
            if !piece.is_empty() && width + w > max {
                pieces.push(std::mem::take(&mut piece));
                width = 0.0;
            }
            piece.push(c);
            width += w;
        }
        pieces.push(piece);
        pieces
    }
}

/// Words separated by spaces, with "€"/"%" joined to the word before and the word after
/// "§"/"§§" joined to it. Tabs and other control characters become spaces.
fn glued_words(text: &str) -> Vec<String> {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut units: Vec<String> = Vec::new();
    let mut glue_next = false;
    for word in clean.split(' ').filter(|w| !w.is_empty()) {
        let glue = glue_next || matches!(word, "€" | "%");
        match units.last_mut() {
            Some(last) if glue => {
                last.push(' ');
                last.push_str(word);
            }
            _ => units.push(word.to_owned()),
        }
        glue_next = matches!(word, "§" | "§§");
    }
    units
}

/// Text for a single unwrapped line: control characters and runs of spaces become one space.
fn one_line(text: &str) -> String {
    glued_words(text).join(" ")
}

/// Something placed on a page. `y` is the baseline, in PDF points from the bottom.
#[derive(Debug, Clone)]
enum Item {
    Text {
        x: f32,
        y: f32,
        face: Face,
        size: f32,
        text: String,
    },
    /// A horizontal rule.
    Rule { x1: f32, x2: f32, y: f32 },
}

type Page = Vec<Item>;

/// Places blocks top to bottom; `y` is the top of the free space on the current page.
struct Layout<'f> {
    fonts: &'f Fonts,
    pages: Vec<Page>,
    y: f32,
}

impl<'f> Layout<'f> {
    fn new(fonts: &'f Fonts) -> Layout<'f> {
        Layout {
            fonts,
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    fn at_top(&self) -> bool {
        self.y >= TOP
    }

    /// Starts a new page unless `height` still fits on this one.
    fn need(&mut self, height: f32) {
        if self.y - height < BOTTOM && !self.at_top() {
            self.new_page();
        }
    }

    fn gap(&mut self, height: f32) {
        if !self.at_top() {
            self.y -= height;
        }
    }

    /// Reserves one line of `size` and returns its baseline.
    fn line(&mut self, size: f32) -> f32 {
        self.need(size * LEADING);
        let baseline = self.y - size;
        self.y -= size * LEADING;
        baseline
    }

    fn text(&mut self, x: f32, y: f32, face: Face, size: f32, text: String) {
        if !text.is_empty() {
            self.page().push(Item::Text {
                x,
                y,
                face,
                size,
                text,
            });
        }
    }

    fn rule(&mut self, x1: f32, x2: f32, y: f32) {
        self.page().push(Item::Rule { x1, x2, y });
    }

    /// Wrapped text between `x` and `RIGHT`.
    fn wrapped(&mut self, x: f32, face: Face, size: f32, text: &str) {
        for l in self.fonts.wrap(face, size, text, RIGHT - x) {
            let y = self.line(size);
            self.text(x, y, face, size, l);
        }
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Letterhead(lines) => {
                for (i, l) in lines.iter().enumerate() {
                    let (face, size) = if i == 0 {
                        (Face::Bold, 11.0)
                    } else {
                        (Face::Regular, SMALL)
                    };
                    self.wrapped(LEFT, face, size, l);
                }
                self.gap(3.0);
                let y = self.y;
                self.rule(LEFT, RIGHT, y);
                self.gap(12.0 * MM);
            }
            Block::Recipients(lines) => {
                for l in lines {
                    self.wrapped(LEFT, Face::Regular, BODY, l);
                }
            }
            Block::PlaceDate(s) => {
                self.gap(8.0);
                let s = one_line(s);
                let y = self.line(BODY);
                let x = RIGHT - self.fonts.width(Face::Regular, BODY, &s);
                self.text(x, y, Face::Regular, BODY, s);
            }
            Block::Title(s) => {
                self.gap(14.0);
                self.need(14.0 * LEADING + 4.0 * BODY * LEADING);
                self.wrapped(LEFT, Face::Bold, 14.0, s);
                self.gap(4.0);
            }
            Block::Fields(pairs) => {
                // The value column starts after the widest label.
                let label_w = pairs
                    .iter()
                    .map(|(l, _)| self.fonts.width(Face::Bold, BODY, &format!("{l}:")))
                    .fold(0.0, f32::max)
                    .min((RIGHT - LEFT) / 2.0)
                    + 8.0;
                for (label, value) in pairs {
                    let lines = self
                        .fonts
                        .wrap(Face::Regular, BODY, value, RIGHT - LEFT - label_w);
                    for (i, l) in lines.into_iter().enumerate() {
                        let y = self.line(BODY);
                        if i == 0 {
                            self.text(LEFT, y, Face::Bold, BODY, format!("{label}:"));
                        }
                        self.text(LEFT + label_w, y, Face::Regular, BODY, l);
                    }
                }
                self.gap(8.0);
            }
            Block::Heading(s) => {
                self.gap(8.0);
                // Keep the heading with at least three lines of what follows.
                self.need(11.0 * LEADING + 3.0 * BODY * LEADING);
                self.wrapped(LEFT, Face::Bold, 11.0, s);
                self.gap(2.0);
            }
            Block::Paragraph(s) => {
                self.wrapped(LEFT, Face::Regular, BODY, s);
                self.gap(5.0);
            }
            Block::Table(t) => {
                self.table(t);
                self.gap(6.0);
            }
            Block::Signature(lines) => {
                self.gap(12.0);
                self.need(6.0 * BODY * LEADING + 24.0);
                for (i, l) in lines.iter().enumerate() {
                    let last = i + 1 == lines.len();
                    if last {
                        self.gap(10.0);
                        self.wrapped(LEFT, Face::Regular, SMALL, l);
                    } else {
                        // Room for the handwritten signature above the name.
                        if i + 2 == lines.len() {
                            self.gap(18.0);
                        }
                        self.wrapped(LEFT, Face::Regular, BODY, l);
                    }
                }
            }
        }
    }

    fn table(&mut self, t: &Table) {
        let total_weight: f32 = t.columns.iter().map(|c| f32::from(c.weight)).sum();
        if total_weight <= 0.0 {
            return;
        }
        let mut xs = Vec::with_capacity(t.columns.len());
        let mut x = LEFT;
        for c in &t.columns {
            let w = (RIGHT - LEFT) * f32::from(c.weight) / total_weight;
            xs.push((x, w));
            x += w;
        }
        let header: Option<Vec<String>> = t
            .has_header()
            .then(|| t.columns.iter().map(|c| c.header.clone()).collect());
        if let Some(h) = &header {
            // The header with at least one row below it.
            self.need(3.0 * TABLE * LEADING);
            self.table_row(t, &xs, h, Face::Bold);
            let y = self.y + 1.0;
            self.rule(LEFT, RIGHT, y);
        }
        let last = t.rows.len().saturating_sub(1);
        for (i, row) in t.rows.iter().enumerate() {
            let is_total = t.total && i == last;
            let face = if is_total { Face::Bold } else { Face::Regular };
            let height = self.row_lines(&xs, row, face).len() as f32 * TABLE * LEADING;
            // A row that fits on a page is not split; one taller than a page starts here.
            if self.y - height < BOTTOM && !self.at_top() && height <= TOP - BOTTOM {
                self.new_page();
                if let Some(h) = &header {
                    self.table_row(t, &xs, h, Face::Bold);
                    let y = self.y + 1.0;
                    self.rule(LEFT, RIGHT, y);
                }
            }
            if is_total {
                let y = self.y - 1.0;
                self.rule(LEFT, RIGHT, y);
                self.y -= 2.0;
            }
            self.table_row(t, &xs, row, face);
        }
    }

    /// A row's lines: `[line][column]`, each cell wrapped to its column.
    fn row_lines(&self, xs: &[(f32, f32)], row: &[String], face: Face) -> Vec<Vec<String>> {
        let cells: Vec<Vec<String>> = xs
            .iter()
            .enumerate()
            .map(|(i, (_, w))| {
                let text = row.get(i).map(String::as_str).unwrap_or_default();
                self.fonts.wrap(face, TABLE, text, w - 2.0 * CELL_PAD)
            })
            .collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
        (0..height)
            .map(|l| {
                cells
                    .iter()
                    .map(|c| c.get(l).cloned().unwrap_or_default())
                    .collect()
            })
            .collect()
    }

    /// Places a row line by line, so that even a row taller than a page breaks cleanly.
    fn table_row(&mut self, t: &Table, xs: &[(f32, f32)], row: &[String], face: Face) {
        for line in self.row_lines(xs, row, face) {
            let y = self.line(TABLE);
            for ((text, (x, w)), col) in line.into_iter().zip(xs).zip(&t.columns) {
                let x = match col.align {
                    Align::Left => x + CELL_PAD,
                    Align::Right => x + w - CELL_PAD - self.fonts.width(face, TABLE, &text),
                };
                self.text(x, y, face, TABLE, text);
            }
        }
    }

    /// Adds the footer (notice number, "Seite i von n") to every page.
    fn finish(mut self, number: &str) -> Vec<Page> {
        let n = self.pages.len();
        let fonts = self.fonts;
        for (i, page) in self.pages.iter_mut().enumerate() {
            page.push(Item::Text {
                x: LEFT,
                y: FOOTER_Y,
                face: Face::Regular,
                size: SMALL,
                text: one_line(number),
            });
            let text = format!("Seite {} von {n}", i + 1);
            page.push(Item::Text {
                x: RIGHT - fonts.width(Face::Regular, SMALL, &text),
                y: FOOTER_Y,
                face: Face::Regular,
                size: SMALL,
                text,
            });
        }
        self.pages
    }
}

struct DocInfo {
    title: String,
    author: String,
    date: chrono::NaiveDate,
}

/// One face's share of the document font: which glyph each code shows, and its width.
struct Embedded {
    /// Index = CID; value = glyph id in the subset (0 where this face does not use the code).
    cid_to_gid: Vec<u16>,
    /// Index = CID - 1; in thousandths of the font size.
    widths: Vec<f32>,
    /// The subset as embedded (`packed_subset`).
    subset: Arc<PackedSubset>,
}

fn embed(
    fonts: &Fonts,
    face: Face,
    codes: &BTreeMap<char, u16>,
    used: &BTreeSet<(Face, char)>,
) -> Result<Embedded, DocumentError> {
    let mut remapper = GlyphRemapper::new();
    // The base repertoire first, in a fixed order: a notice that uses no other character
    // embeds the very same subset as every other such notice (`deflated_font` then has it
    // compressed already).
    for c in base_repertoire() {
        remapper.remap(fonts.glyph(face, c).0);
    }
    let mut cid_to_gid = vec![0u16; codes.len() + 1];
    let mut widths = vec![0.0; codes.len()];
    for (&c, &cid) in codes {
        if used.contains(&(face, c)) {
            cid_to_gid[usize::from(cid)] = remapper.remap(fonts.glyph(face, c).0);
            widths[usize::from(cid) - 1] = fonts.advance(face, c);
        }
    }
    let subset = packed_subset(fonts, face, &remapper)?;
    Ok(Embedded {
        cid_to_gid,
        widths,
        subset,
    })
}

/// The characters every embedded subset holds, whether the notice uses them or not: printable
/// ASCII and Latin-1, and the punctuation and currency signs of German text.
fn base_repertoire() -> impl Iterator<Item = char> {
    ('\u{20}'..='\u{7e}')
        .chain('\u{a0}'..='\u{ff}')
        .chain("–—‘’‚“”„•…‰€".chars())
}

/// zlib at the default level: for what is compressed once and remembered (`packed_subset`).
fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

/// zlib at the fastest level: for what every notice compresses anew (its pages, its maps),
/// where the default level cost a signing more CPU than it saved in bytes.
fn deflate_fast(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 1)
}

/// A font subset as a notice embeds it: compressed (`deflate`), with its length before.
struct PackedSubset {
    deflated: Vec<u8>,
    length: usize,
}

/// The subset of `face` with the glyphs `remapper` holds, compressed, remembered by face and
/// glyph list: almost every notice embeds just the base repertoire (`base_repertoire`), and
/// subsetting and compressing it were a third of a signing's CPU. The same bytes as without
/// the cache (a pure function of face and glyphs); at most `FONT_CACHE` subsets are kept
/// (then the cache starts anew).
fn packed_subset(
    fonts: &Fonts,
    face: Face,
    remapper: &GlyphRemapper,
) -> Result<Arc<PackedSubset>, DocumentError> {
    const FONT_CACHE: usize = 64;
    type Cache = Mutex<HashMap<(Face, Vec<u16>), Arc<PackedSubset>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let key = (face, remapper.remapped_gids().collect::<Vec<u16>>());
    if let Some(hit) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return Ok(Arc::clone(hit));
    }
    let subset = subsetter::subset(fonts.data[face as usize], 0, remapper)
        .map_err(|e| DocumentError::Font(e.to_string()))?;
    let packed = Arc::new(PackedSubset {
        deflated: deflate(&subset),
        length: subset.len(),
    });
    let mut map = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if map.len() >= FONT_CACHE {
        map.clear();
    }
    map.insert(key, Arc::clone(&packed));
    Ok(packed)
}

/// A subset tag ("ABCDEF+") that differs between different subsets, as the PDF
/// specification asks; derived from the content so that output stays deterministic.
fn subset_tag(face: Face, cid_to_gid: &[u16]) -> String {
    let mut h: u32 = 0x811c_9dc5 ^ face as u32;
    for g in cid_to_gid {
        for b in g.to_be_bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((h >> (i * 5)) % 26) as u8))
        .collect()
}

/// The object numbers of a document: catalog, page tree, info, ToUnicode map, per page its
/// page and content stream, per face its five font objects.
struct Refs {
    catalog: Ref,
    tree: Ref,
    info: Ref,
    cmap: Ref,
    pages: Vec<(Ref, Ref)>,
    fonts: Vec<[Ref; 5]>,
}

impl Refs {
    fn new(pages: usize) -> Refs {
        let mut next = 0;
        let mut alloc = || {
            next += 1;
            Ref::new(next)
        };
        let catalog = alloc();
        let tree = alloc();
        let info = alloc();
        let cmap = alloc();
        let pages = (0..pages).map(|_| (alloc(), alloc())).collect();
        let fonts = FACES
            .iter()
            .map(|_| [alloc(), alloc(), alloc(), alloc(), alloc()])
            .collect();
        Refs {
            catalog,
            tree,
            info,
            cmap,
            pages,
            fonts,
        }
    }
}

const FONT_NAMES: [Name<'static>; 2] = [Name(b"F1"), Name(b"F2")];

/// The characters of the text, per face.
type Used = BTreeSet<(Face, char)>;
/// One code per distinct character, shared by both faces.
type Codes = BTreeMap<char, u16>;

/// The characters of the text per face, and their codes.
fn char_codes(pages: &[Page]) -> Result<(Used, Codes), DocumentError> {
    let used: Used = pages
        .iter()
        .flatten()
        .filter_map(|item| match item {
            Item::Text { face, text, .. } => Some(text.chars().map(move |c| (*face, c))),
            Item::Rule { .. } => None,
        })
        .flatten()
        .collect();
    let chars: BTreeSet<char> = used.iter().map(|(_, c)| *c).collect();
    if chars.len() >= usize::from(u16::MAX) {
        return Err(DocumentError::TooManyCharacters);
    }
    let codes: Codes = chars.iter().zip(1u16..).map(|(c, i)| (*c, i)).collect();
    Ok((used, codes))
}

fn write_pdf(fonts: &Fonts, pages: &[Page], info: &DocInfo) -> Result<Vec<u8>, DocumentError> {
    let (used, codes) = char_codes(pages)?;
    let refs = Refs::new(pages.len());
    let mut pdf = Pdf::new();
    write_catalog(&mut pdf, &refs, pages.len(), info);
    for (page, (page_id, content_id)) in pages.iter().zip(&refs.pages) {
        let mut p = pdf.page(*page_id);
        p.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(refs.tree)
            .contents(*content_id);
        let mut resources = p.resources();
        let mut font_dict = resources.fonts();
        for (name, ids) in FONT_NAMES.iter().zip(&refs.fonts) {
            font_dict.pair(*name, ids[0]);
        }
        font_dict.finish();
        resources.finish();
        p.finish();

        let content = page_content(page, &codes, &FONT_NAMES);
        pdf.stream(*content_id, &deflate_fast(&content))
            .filter(Filter::FlateDecode);
    }
    write_cmap(&mut pdf, refs.cmap, &codes);
    for (face, ids) in FACES.iter().zip(&refs.fonts) {
        let e = embed(fonts, *face, &codes, &used)?;
        write_font(&mut pdf, fonts, *face, *ids, refs.cmap, &e);
    }
    Ok(pdf.finish())
}

/// The catalog, the page tree and the document information.
fn write_catalog(pdf: &mut Pdf, refs: &Refs, pages: usize, info: &DocInfo) {
    pdf.catalog(refs.catalog)
        .pages(refs.tree)
        .lang(TextStr("de-DE"));
    pdf.pages(refs.tree)
        .kids(refs.pages.iter().map(|(p, _)| *p))
        .count(i32::try_from(pages).unwrap_or(i32::MAX));
    let mut doc_info = pdf.document_info(refs.info);
    doc_info
        .title(TextStr(&info.title))
        .author(TextStr(&info.author))
        .creator(TextStr("foerderakte"));
    if let Ok(year) = u16::try_from(chrono::Datelike::year(&info.date)) {
        let month = u8::try_from(chrono::Datelike::month(&info.date)).unwrap_or(1);
        let day = u8::try_from(chrono::Datelike::day(&info.date)).unwrap_or(1);
        doc_info.creation_date(Date::new(year).month(month).day(day));
    }
    doc_info.finish();
}

/// The ToUnicode map from the character codes back to the text (so `pdftotext` reads it).
fn write_cmap(pdf: &mut Pdf, cmap_id: Ref, codes: &BTreeMap<char, u16>) {
    let mut cmap = pdf_writer::types::UnicodeCmap::new(
        Name(b"Foerderakte-UTF16"),
        SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"UCS"),
            supplement: 0,
        },
    );
    for (&c, &cid) in codes {
        cmap.pair(cid, c);
    }
    pdf.cmap(cmap_id, &deflate_fast(&cmap.finish()))
        .filter(Filter::FlateDecode);
}

/// One face as a Type 0 font: the CID font, its descriptor, the embedded subset and the
/// CID-to-glyph map.
fn write_font(pdf: &mut Pdf, fonts: &Fonts, face: Face, ids: [Ref; 5], cmap_id: Ref, e: &Embedded) {
    let [type0_id, cid_id, descriptor_id, file_id, map_id] = ids;
    let family = match face {
        Face::Regular => "DejaVuSans",
        Face::Bold => "DejaVuSans-Bold",
    };
    let base = format!("{}+{family}", subset_tag(face, &e.cid_to_gid));
    let base = Name(base.as_bytes());

    pdf.type0_font(type0_id)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);

    let mut cid = pdf.cid_font(cid_id);
    cid.subtype(CidFontType::Type2)
        .base_font(base)
        .system_info(SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        })
        .font_descriptor(descriptor_id)
        .default_width(0.0)
        .cid_to_gid_map_stream(map_id);
    cid.widths().consecutive(1, e.widths.iter().copied());
    cid.finish();

    write_descriptor(pdf, fonts, face, descriptor_id, file_id, base);

    let length1 = i32::try_from(e.subset.length).unwrap_or(i32::MAX);
    pdf.stream(file_id, &e.subset.deflated)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), length1);

    let map: Vec<u8> = e.cid_to_gid.iter().flat_map(|g| g.to_be_bytes()).collect();
    pdf.stream(map_id, &deflate_fast(&map))
        .filter(Filter::FlateDecode);
}

/// The font descriptor of a face: its metrics, scaled to 1000 units per em.
fn write_descriptor(
    pdf: &mut Pdf,
    fonts: &Fonts,
    face: Face,
    descriptor_id: Ref,
    file_id: Ref,
    base: Name<'_>,
) {
    let ttf = fonts.face(face);
    let scale = 1000.0 / f32::from(ttf.units_per_em());
    let bbox = ttf.global_bounding_box();
    let cap = ttf.capital_height().unwrap_or(ttf.ascender());
    pdf.font_descriptor(descriptor_id)
        .name(base)
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * scale,
            f32::from(bbox.y_min) * scale,
            f32::from(bbox.x_max) * scale,
            f32::from(bbox.y_max) * scale,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(ttf.ascender()) * scale)
        .descent(f32::from(ttf.descender()) * scale)
        .cap_height(f32::from(cap) * scale)
        .stem_v(match face {
            Face::Regular => 80.0,
            Face::Bold => 140.0,
        })
        .font_file2(file_id);
}

/// The content stream of one page: rules first, then all text in one text object.
fn page_content(page: &Page, codes: &BTreeMap<char, u16>, names: &[Name<'_>; 2]) -> Vec<u8> {
    let mut content = Content::new();
    let rules: Vec<(f32, f32, f32)> = page
        .iter()
        .filter_map(|i| match i {
            Item::Rule { x1, x2, y } => Some((*x1, *x2, *y)),
            Item::Text { .. } => None,
        })
        .collect();
    if !rules.is_empty() {
        content.set_stroke_gray(0.4).set_line_width(0.5);
        for (x1, x2, y) in rules {
            content.move_to(x1, y).line_to(x2, y);
        }
        content.stroke();
    }
    content.begin_text();
    let mut current: Option<(Face, f32)> = None;
    for item in page {
        let Item::Text {
            x,
            y,
            face,
            size,
            text,
        } = item
        else {
            continue;
        };
        if current != Some((*face, *size)) {
            content.set_font(names[*face as usize], *size);
            current = Some((*face, *size));
        }
        let bytes: Vec<u8> = text
            .chars()
            .filter_map(|c| codes.get(&c))
            .flat_map(|cid| cid.to_be_bytes())
            .collect();
        content.set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, *y]);
        content.show(Str(&bytes));
    }
    content.end_text();
    content.finish().into_vec()
}
