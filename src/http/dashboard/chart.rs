//! The dashboard's charts: horizontal grouped bars as SVG, drawn by plotters' SVG backend
//! (text stays text, so the browser renders it with the page's font and a screen reader could
//! read it; every chart also has its table on the page). One chart type for every view: one
//! group of bars per category (a year, a Kreis, a status, a programme), one bar per series.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::document::{euro_cents_de, group_thousands};

/// What the axis counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Cents, labelled as euros.
    Euro,
    Count,
    /// Hundredths of a day, labelled as days.
    Days,
}

impl Unit {
    fn label(self, v: f64) -> String {
        // Axis ticks are whole numbers of the unit; the exact figures are in the table.
        let v = v.max(0.0);
        match self {
            Unit::Euro if v >= 100_000_000.0 => {
                let tenths = (v / 10_000_000.0).round() as u64;
                format!("{},{} Mio. €", tenths / 10, tenths % 10)
            }
            Unit::Euro => {
                euro_cents_de((v / 100.0).round() as i64 * 100)
                    .trim_end_matches(",00 €")
                    .to_owned()
                    + " €"
            }
            Unit::Count => group_thousands(v.round() as u64),
            Unit::Days => format!("{} Tage", (v / 100.0).round() as u64),
        }
    }
}

/// One series: its name (in the legend) and a value per category.
pub struct Series {
    pub name: &'static str,
    pub values: Vec<i64>,
}

/// The colours of the series, in order: dark enough against white for WCAG 2.1's 3:1 for
/// graphical objects (1.4.11): #1f4e79 8.9:1, #a34700 5.9:1, #2e6b30 6.4:1, #5b2c6f 10.1:1,
/// #4d4d4d 8.5:1.
const COLOURS: [RGBColor; 5] = [
    RGBColor(0x1f, 0x4e, 0x79),
    RGBColor(0xa3, 0x47, 0x00),
    RGBColor(0x2e, 0x6b, 0x30),
    RGBColor(0x5b, 0x2c, 0x6f),
    RGBColor(0x4d, 0x4d, 0x4d),
];

/// The colour of the `i`-th series, as CSS (for the legend in the page).
pub fn colour_css(i: usize) -> String {
    let RGBColor(r, g, b) = COLOURS[i % COLOURS.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// DejaVu Sans (the notices' font, compiled in) as plotters' `sans-serif`, for measuring the
/// labels; the SVG names the family and the browser draws it.
fn fonts() -> Result<(), String> {
    static REGISTERED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "DejaVu Sans is not a font plotters reads".to_owned())
        })
        .clone()
}

const WIDTH: u32 = 860;
/// The widest label area (a label is cut at 34 characters).
const LABELS: u32 = 260;
const BAR: u32 = 13;

/// The chart as an `<svg>` element labelled by the element `labelled_by` (the figure's
/// caption), with one group of bars per category.
pub fn bars(
    categories: &[String],
    series: &[Series],
    unit: Unit,
    labelled_by: &str,
) -> Result<String, String> {
    fonts()?;
    let n = categories.len().max(1);
    let group = BAR * series.len().max(1) as u32 + 12;
    let height = 50 + group * n as u32;
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64
        * 1.08;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .margin_right(24)
            .x_label_area_size(30)
            .y_label_area_size(label_area(categories))
            .build_cartesian_2d(0f64..max, 0f64..n as f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(5)
            .x_label_formatter(&|v| unit.label(*v))
            .x_label_style(("sans-serif", 16).into_font().color(&BLACK))
            .light_line_style(RGBColor(0xdd, 0xdd, 0xdd))
            .axis_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        let slot = 1.0 / (series.len() as f64 + 1.0);
        for (si, s) in series.iter().enumerate() {
            let colour = COLOURS[si % COLOURS.len()];
            let rects = s.values.iter().enumerate().map(move |(ci, v)| {
                // The first category at the top.
                let top = (n - ci) as f64 - slot * (si as f64 + 0.5);
                Rectangle::new([(0.0, top - slot), (*v as f64, top)], colour.filled())
            });
            chart.draw_series(rects).map_err(|e| e.to_string())?;
        }
        let style = ("sans-serif", 16)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (ci, name) in categories.iter().enumerate() {
            let centre = (n - ci) as f64 - 0.5 * (1.0 - slot);
            let (x, y) = chart.backend_coord(&(0.0, centre));
            let label: String = name.chars().take(34).collect();
            root.draw(&Text::new(label, (x - 6, y), style.clone()))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg.replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-labelledby=\"{labelled_by}\" focusable=\"false\" \
             preserveAspectRatio=\"xMinYMin meet\" style=\"max-width:100%;height:auto\" "
        ),
        1,
    ))
}

/// Room for the longest category label (about 8 px a character at 13 px), within bounds.
fn label_area(categories: &[String]) -> u32 {
    let longest = categories
        .iter()
        .map(|c| c.chars().count().min(34))
        .max()
        .unwrap_or(0);
    (u32::try_from(longest).unwrap_or(34) * 8 + 16).clamp(60, LABELS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_an_svg_labelled_by_its_caption_with_a_bar_per_value() {
        let svg = bars(
            &["2019".into(), "2020".into()],
            &[
                Series {
                    name: "Bewilligt",
                    values: vec![31_062_000, 780_715_200],
                },
                Series {
                    name: "Ausgezahlt",
                    values: vec![0, 100],
                },
            ],
            Unit::Euro,
            "cap",
        )
        .unwrap();
        assert!(
            svg.starts_with("<svg role=\"img\" aria-labelledby=\"cap\""),
            "{svg}"
        );
        assert!(
            svg.contains("\n2019\n") && svg.contains("\n2020\n"),
            "{svg}"
        );
        assert!(svg.contains("Mio. €"), "{svg}");
        // Four bars in the series' colours.
        assert_eq!(svg.matches("fill=\"#1F4E79\"").count(), 2, "{svg}");
        assert_eq!(svg.matches("fill=\"#A34700\"").count(), 2, "{svg}");
    }

    #[test]
    fn axis_labels_are_german() {
        assert_eq!(Unit::Euro.label(150_000_000.0), "1,5 Mio. €");
        assert_eq!(Unit::Euro.label(5_000_000.0), "50.000 €");
        assert_eq!(Unit::Count.label(1234.0), "1.234");
        assert_eq!(Unit::Days.label(2350.0), "24 Tage");
    }
}
