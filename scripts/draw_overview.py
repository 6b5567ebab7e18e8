"""Draw the preface's overview picture: x -> W_q, W_k, W_v -> q, k, v -> softmax(q k^T / sqrt(d_k)) v.

Usage: python scripts/draw_overview.py      (writes book/images/qkv-overview.svg)

The picture is an SVG 440 px wide that flows from top to bottom, so that it
stays legible on a phone: the book shows it 480 px wide on a desktop and at the
358 px column width of a 390 px phone, where the smallest label (20 px here)
is still 16 px tall. The output is the same bytes on every run.
"""
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "book" / "images" / "qkv-overview.svg"

WIDTH, HEIGHT = 440, 390            # px at 72 dpi, i.e. the SVG's own size in CSS px
BIG, SMALL = 26, 20                 # font sizes in px
INK = "#1f2933"
COLOURS = {"q": "#d9480f", "k": "#1971c2", "v": "#2f9e44"}   # one colour per projection
PALE = {"q": "#fff4e6", "k": "#e7f5ff", "v": "#ebfbee"}


def box(ax, x, y, w, h, text, *, face="white", edge=INK, size=BIG, colour=INK):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=10",
                                facecolor=face, edgecolor=edge, linewidth=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, color=colour)


def arrow(ax, start, end, colour=INK):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=18, linewidth=2,
                                 color=colour, shrinkA=0, shrinkB=0))


def draw():
    plt.rcParams.update({"svg.hashsalt": "qkv-overview", "svg.fonttype": "path",
                         "font.family": "DejaVu Sans", "mathtext.fontset": "dejavusans"})
    fig = plt.figure(figsize=(WIDTH / 72, HEIGHT / 72), dpi=72)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, HEIGHT)
    ax.axis("off")

    cols = {"q": 90, "k": 220, "v": 350}     # x of each branch; the flow runs top to bottom
    box(ax, 220, 355, 56, 50, "$x$")                       # the tokens: x, shape (T, D)
    ax.text(258, 355, "tokens", ha="left", va="center", fontsize=SMALL, color=INK)
    for name, x in cols.items():
        c = COLOURS[name]
        arrow(ax, (220, 330), (x, 292), INK)
        box(ax, x, 266, 84, 52, f"$W_{name}$", face=PALE[name], edge=c, colour=c)
        arrow(ax, (x, 240), (x, 204), c)
        box(ax, x, 179, 50, 50, f"${name}$", face=PALE[name], edge=c, colour=c)
        arrow(ax, (x, 154), (220 + (x - 220) * 0.6, 112), c)
    # the attention step: one output row per token
    box(ax, 220, 80, 420, 64, r"$\mathrm{softmax}(q\,k^{\top}/\sqrt{d_k})\,v$")
    ax.text(220, 26, "attention: one output row per token", ha="center", va="center",
            fontsize=SMALL, color=INK)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    # matplotlib gives the size in pt (720pt = 960 CSS px); state it in px, as designed.
    svg = OUT.read_text(encoding="utf-8")
    OUT.write_text(svg.replace(f'width="{WIDTH}pt" height="{HEIGHT}pt"',
                               f'width="{WIDTH}" height="{HEIGHT}"', 1), encoding="utf-8")
    return OUT


if __name__ == "__main__":
    print(f"wrote {draw().relative_to(ROOT)}")
