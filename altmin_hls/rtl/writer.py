"""Write synthesisable Verilog-2005 of the fixed-point inference datapath.

The RTL computes what :meth:`Emulator.infer` computes, bit for bit. Products and sums are
exact in signals wide enough for any input. A value is rounded and saturated only where
the emulator calls ``quantize`` (codes and activations). The sigmoid is the same table,
indexed by the same shift of the exact output sum. The weights are constants of the
generated module. The HLS top loads them at run time (``MODE_LOAD``), so this RTL
covers inference only.

Files written into the RTL folder::

    <name>.v           top module: AXI4-Stream ports, control, the three layers
    <name>_sigmoid.v   the sigmoid table as a registered ROM
    rtl.json           reuse factor, latency and word layout of the generated top

Timing of the top (in cycles in which the pipeline advances): with reuse factor ``R`` the
top accepts one track every ``R`` cycles, each layer takes ``R`` cycles of multiplies
plus one cycle for its last partial sum, rounding and ReLU, and the table lookup and the
output register add three more, so the latency is ``3 (R + 1) + 3`` cycles.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np

from altmin_hls.config import Config
from altmin_hls.emulator.datapath import Datapath, exact_dot_type
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.errors import ConfigError
from altmin_hls.fixed import FixedType
from altmin_hls.hls.writer import ProjectWriter
from altmin_hls.rtl.layout import WordLayout, word_layout

log = logging.getLogger(__name__)

# Rounding and overflow modes that the generated quantisers implement.
SUPPORTED_QUANTIZATION = ("AP_TRN", "AP_RND", "AP_RND_CONV")
SUPPORTED_OVERFLOW = ("AP_WRAP", "AP_SAT")
# Widest signal the writer emits. The exact sums of any config the emulator accepts need
# at most 62 bits; the limit only rejects configs whose alignment shifts explode.
MAX_SIGNAL_BITS = 128
# Precision keys that the inference datapath rounds to, with what they hold.
ROUNDED_KEYS = {"code": "the layer codes", "activation": "the ReLU outputs"}
# Sigmoid table indexings that sigmoid_index_function implements (config key sigmoid.sample).
SIGMOID_SAMPLES = ("centre", "hls4ml")
VERILOG_KEYWORDS = frozenset(
    """always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config
    deassign default defparam design disable edge else end endcase endconfig endfunction
    endgenerate endmodule endprimitive endspecify endtable endtask event for force forever
    fork function generate genvar highz0 highz1 if ifnone incdir include initial inout input
    instance integer join large liblist library localparam macromodule medium module nand
    negedge nmos nor noshowcancelled not notif0 notif1 or output parameter pmos posedge
    primitive pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real
    realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled
    signed small specify specparam strong0 strong1 supply0 supply1 table task time tran
    tranif0 tranif1 tri tri0 tri1 triand trior trireg unsigned use uwire vectored wait wand
    weak0 weak1 while wire wor xnor xor""".split()
)


def signed_literal(value: int, width: int) -> str:
    """Return a sized signed Verilog literal, parenthesised when negative."""
    value = int(value)
    if value < 0:
        return f"(-{width}'sd{-value})"
    return f"{width}'sd{value}"


def bits_literal(value: int, width: int) -> str:
    """Return the two's complement bits of ``value`` as an unsigned sized hex literal."""
    return f"{width}'h{int(value) & ((1 << width) - 1):x}"


def parameters_digest(vector: np.ndarray) -> str:
    """Return a short SHA-256 of a firmware-order parameter vector, recorded in rtl.json."""
    return hashlib.sha256(np.asarray(vector, np.int64).tobytes()).hexdigest()[:16]


def _check_width(what: str, bits: int) -> int:
    if bits > MAX_SIGNAL_BITS:
        raise ConfigError(
            f"the RTL signal for {what} would need {bits} bits, more than the "
            f"{MAX_SIGNAL_BITS} the RTL writer allows; narrow the precisions"
        )
    return bits


def check_rtl_config(config: Config) -> None:
    """Raise ConfigError when the RTL cannot implement the config's rounding or names."""
    for key, what in ROUNDED_KEYS.items():
        fixed: FixedType = getattr(config.precision, key)
        if fixed.quantization not in SUPPORTED_QUANTIZATION:
            raise ConfigError(
                f"config key 'precision.{key}' ({what}) uses quantization mode "
                f"{fixed.quantization}, which the RTL writer does not implement; use one of "
                f"{', '.join(SUPPORTED_QUANTIZATION)}"
            )
        if fixed.overflow not in SUPPORTED_OVERFLOW:
            raise ConfigError(
                f"config key 'precision.{key}' ({what}) uses overflow mode {fixed.overflow}, "
                f"which the RTL writer does not implement; use one of "
                f"{', '.join(SUPPORTED_OVERFLOW)}"
            )
    if config.name in VERILOG_KEYWORDS:
        raise ConfigError(
            f"config key 'project.name' is '{config.name}', a Verilog keyword, so it cannot "
            "name the top module; choose another name"
        )


@dataclass
class VerilogFunction:
    """A combinational Verilog function of one signed input ``v``."""

    name: str
    comment: str
    out_width: int
    in_width: int
    declarations: list[str]
    body: list[str]

    def lines(self) -> list[str]:
        """Return the Verilog of the function, one line per item, indented by four spaces."""
        text = [
            f"// {self.comment}",
            f"function [{self.out_width - 1}:0] {self.name};",
            f"    input signed [{self.in_width - 1}:0] v;",
        ]
        text += [f"    {line}" for line in self.declarations]
        text.append("    begin")
        text += [f"        {line}" for line in self.body]
        text += ["    end", "endfunction"]
        return text


def quantize_function(
    name: str, comment: str, src_width: int, src_frac: int, dst: FixedType, relu: bool = False
) -> VerilogFunction:
    """Return the function that rounds a signed ``src_width``-bit raw value with ``src_frac``
    fraction bits to ``dst`` by its quantization and overflow modes.

    With ``relu`` the function first replaces negative inputs by zero. The result is the
    ``dst.width`` raw bits of ``dst``.
    """
    shift = src_frac - dst.frac
    width = dst.width
    declarations: list[str] = []
    body: list[str] = []
    value = "v"
    in_width = src_width
    if relu:
        declarations.append(f"reg signed [{src_width - 1}:0] positive;")
        body.append(f"positive = v[{src_width - 1}] ? {src_width}'sd0 : v;")
        value = "positive"
    if shift > 0:
        # Sign-extend so that the dropped bits, the half bit and a sign bit all exist.
        ext_width = max(src_width, shift + 2)
        floor_width = ext_width - shift
        result_width = _check_width(f"{name} rounding", max(floor_width + 1, width + 2))
        declarations.append(f"reg signed [{ext_width - 1}:0] x;")
        declarations.append("reg up;")
        declarations.append(f"reg signed [{result_width - 1}:0] r;")
        body.append(f"x = {value};")
        if dst.quantization == "AP_TRN":
            body.append("up = 1'b0;")
        elif dst.quantization == "AP_RND":
            body.append(f"up = x[{shift - 1}];  // half an LSB or more rounds up")
        else:  # AP_RND_CONV: a tie rounds to the even neighbour
            below_half = f"(|x[{shift - 2}:0])" if shift >= 2 else "1'b0"
            body.append(f"up = x[{shift - 1}] & ({below_half} | x[{shift}]);")
        body.append(f"r = $signed(x[{ext_width - 1}:{shift}]) + $signed({{1'b0, up}});")
    else:
        result_width = _check_width(f"{name} alignment", max(src_width - shift, width + 2))
        declarations.append(f"reg signed [{result_width - 1}:0] r;")
        body.append(f"r = {value};")
        if shift < 0:
            body.append(f"r = r <<< {-shift};")
    if dst.overflow == "AP_SAT":
        body.append(f"if (r > {signed_literal(dst.max_raw, result_width)}) {name} = {bits_literal(dst.max_raw, width)};")
        body.append(f"else if (r < {signed_literal(dst.min_raw, result_width)}) {name} = {bits_literal(dst.min_raw, width)};")
        body.append(f"else {name} = r[{width - 1}:0];")
    else:  # AP_WRAP keeps the low bits
        body.append(f"{name} = r[{width - 1}:0];")
    return VerilogFunction(name, comment, width, in_width, declarations, body)


def sigmoid_index_function(
    sum_width: int, sum_frac: int, table_size: int, table_range: float, sample: str = "centre"
) -> VerilogFunction:
    """Return the function that maps an exact output sum to its sigmoid table entry.

    ``centre``: ``clamp(floor((z + R) N / (2R)), 0, N - 1)``. ``hls4ml``:
    ``clamp(N/2 + trunc(z N / (2R)), 0, N - 1)`` with trunc rounding toward zero, as
    ``Datapath.sigmoid_index`` and hls4ml's ``sigmoid`` do. ``N / (2R)`` is a power of two,
    so the scaling is a shift.
    """
    if sample not in SIGMOID_SAMPLES:
        raise ConfigError(
            f"config key 'sigmoid.sample' is '{sample}', which the RTL writer does not "
            f"implement; use one of {', '.join(SIGMOID_SAMPLES)}"
        )
    index_bits = int(math.log2(table_size))
    scale_bits = int(round(math.log2(table_size / (2.0 * table_range))))
    move = sum_frac - scale_bits  # right shift of the sum (a left shift when negative)
    range_raw = table_range * 2.0**sum_frac
    if sample == "centre" and range_raw != int(range_raw):
        raise ConfigError(
            f"the sigmoid input range {table_range} is not a whole number of LSBs of the "
            f"output-layer sum ({sum_frac} fraction bits); change sigmoid.input_range or the "
            "weight and activation precisions"
        )
    range_raw = int(range_raw)
    # Widths: the sum, plus the range, plus a left shift, plus room for N/2 and a sign.
    base_width = max(sum_width, range_raw.bit_length() + 1) + 1
    scaled_width = _check_width("the sigmoid table index", base_width + max(0, -move))
    index_width = max(scaled_width, index_bits + 1) + 1
    declarations = [
        f"reg signed [{base_width - 1}:0] shifted;",
        f"reg signed [{scaled_width - 1}:0] scaled;",
        f"reg signed [{index_width - 1}:0] index;",
    ]
    shift = f">>> {move}" if move >= 0 else f"<<< {-move}"
    if sample == "centre":
        comment = f"Table index clamp(floor((z + {table_range}) * {table_size} / {2 * table_range}), 0, {table_size - 1})"
        body = [
            "shifted = v;",
            f"shifted = shifted + {signed_literal(range_raw, base_width)};",
            "scaled = shifted;",
            f"scaled = scaled {shift};",
            "index = scaled;",
        ]
    else:
        comment = (
            f"Table index clamp({table_size // 2} + trunc(z * {table_size} / {2 * table_range}), 0, "
            f"{table_size - 1}), rounding toward zero as hls4ml does"
        )
        body = [
            "shifted = v;",
            "if (shifted < 0) shifted = -shifted;",
            "scaled = shifted;",
            f"scaled = scaled {shift};",
            f"index = v[{sum_width - 1}] ? {signed_literal(table_size // 2, index_width)} - scaled "
            f": {signed_literal(table_size // 2, index_width)} + scaled;",
        ]
    body += [
        f"if (index < {index_width}'sd0) sigmoid_index = {index_bits}'d0;",
        f"else if (index > {signed_literal(table_size - 1, index_width)}) sigmoid_index = {index_bits}'d{table_size - 1};",
        f"else sigmoid_index = index[{index_bits - 1}:0];",
    ]
    return VerilogFunction("sigmoid_index", comment, index_bits, sum_width, declarations, body)


@dataclass
class Product:
    """One multiplier of a layer: output ``output``, input group ``group``."""

    name: str
    output: int
    group: int
    expression: str  # what the product register loads each cycle
    weight_cases: list[tuple[int, str]] = field(default_factory=list)  # R > 1: (phase, weight literal)


@dataclass
class Layer:
    """Signals and constants of one dense layer, as the top template uses them."""

    index: int  # 0 for the first layer
    n_in: int
    n_out: int
    input_width: int  # signed width of an input register
    weight_width: int
    product_width: int
    sum_width: int
    sum_frac: int
    selects: list[dict]  # R > 1: per input group, its name and (phase, input register) cases
    products: list[Product]
    sums: list[dict]  # per output: accumulator, product terms, output register and its value
    first_phase: int  # phase whose partial sum starts the accumulator (R > 1)
    final_phase: int  # phase in which the last partial sum completes the layer
    outputs: list[str]  # output registers of a hidden layer; empty for the output layer
    output_width: int


class RtlWriter:
    """Render the Verilog of one project's inference datapath."""

    def __init__(
        self, config: Config, parameters: FixedParameters, reuse_factor: int | None = None
    ) -> None:
        check_rtl_config(config)
        self.config = config
        self.parameters = parameters
        self.path = Datapath.from_config(config)
        self.reuse_factor = config.reuse_factor if reuse_factor is None else int(reuse_factor)
        if self.reuse_factor < 1:
            raise ConfigError(f"invalid reuse factor {self.reuse_factor}: expected an integer >= 1")
        self.layout: WordLayout = word_layout(config, parameters)
        self.banner = ProjectWriter(config, parameters).banner()
        self.environment = jinja2.Environment(
            loader=jinja2.FunctionLoader(self._load_template),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    @staticmethod
    def _load_template(name: str) -> str:
        return resources.files("altmin_hls.templates").joinpath("rtl", name).read_text()

    @property
    def n_layers(self) -> int:
        return len(self.config.sizes) - 1

    @property
    def latency(self) -> int:
        """Return the cycles from an accepted track word to its score word on the output."""
        return self.n_layers * (self.reuse_factor + 1) + 3

    @property
    def sideband_depth(self) -> int:
        """Return the length of the delay line that carries valid, end of event and TLAST."""
        return self.latency - 1

    # ---- datapath ---------------------------------------------------------------------

    def _input_of(self, index: int, group: int, phase: int) -> int | None:
        """Return the input that multiplier ``group`` of layer ``index`` reads in global
        ``phase``, or None where the group has no input left.

        The layer runs R phases behind the global phase by its index, so layer l+1 starts
        in the cycle after layer l has written its outputs.
        """
        rf = self.reuse_factor
        i = group * rf + (phase - index) % rf
        return i if i < self.config.sizes[index] else None

    def _layer(self, index: int) -> Layer:
        path, rf = self.path, self.reuse_factor
        weights = np.asarray(self.parameters.weights[index], np.int64)
        biases = np.asarray(self.parameters.biases[index], np.int64)
        n_out, n_in = weights.shape
        a_type = path.input if index == 0 else path.activation
        input_width = a_type.width + (0 if a_type.signed else 1)
        product_width = _check_width(f"layer {index + 1} products", input_width + path.weight.width)
        exact = exact_dot_type(path.weight, a_type, n_in, path.bias)
        sum_width = _check_width(f"layer {index + 1} sums", exact.width)
        product_shift = exact.frac - (path.weight.frac + a_type.frac)
        bias_shift = exact.frac - path.bias.frac
        inputs = [f"x{i}" if index == 0 else f"h{index}_{i}" for i in range(n_in)]
        groups = math.ceil(n_in / rf)
        selects = []
        if rf > 1:
            for g in range(groups):
                cases = []
                for p in range(rf):
                    i = self._input_of(index, g, p)
                    cases.append((p, inputs[i] if i is not None else f"{input_width}'sd0"))
                selects.append({"name": f"a{index + 1}_sel{g}", "cases": cases})

        products: list[Product] = []
        sums = []
        for o in range(n_out):
            terms = []
            for g in range(groups):
                product = self._product(index, o, g, weights, inputs, product_width)
                if product is None:
                    continue
                products.append(product)
                terms.append(f"({product.name} <<< {product_shift})" if product_shift else product.name)
            bias = signed_literal(int(biases[o]) << bias_shift, sum_width)
            accumulator = f"acc{index + 1}_{o}"
            total = f"partial + {bias}" if rf == 1 else f"{accumulator} + partial + {bias}"
            last = index == self.n_layers - 1
            sums.append(
                {
                    "accumulator": accumulator,
                    "terms": terms,
                    "target": "table_index" if last else f"h{index + 1}_{o}",
                    "value": self._output_value(index, total),
                }
            )
        hidden = index < self.n_layers - 1
        act = path.activation
        output_width = 0
        if hidden:
            output_width = act.width + (0 if act.signed else 1)  # unsigned values get a 0 sign bit
        return Layer(
            index=index,
            n_in=n_in,
            n_out=n_out,
            input_width=input_width,
            weight_width=path.weight.width,
            product_width=product_width,
            sum_width=sum_width,
            sum_frac=exact.frac,
            selects=selects,
            products=products,
            sums=sums,
            first_phase=(index + 1) % rf,
            final_phase=index % rf,
            outputs=[f"h{index + 1}_{o}" for o in range(n_out)] if hidden else [],
            output_width=output_width,
        )

    def _product(
        self, index: int, output: int, group: int, weights: np.ndarray, inputs: list[str], width: int
    ) -> Product | None:
        """Return multiplier ``group`` of output ``output``, or None when all its weights are 0.

        With reuse factor 1 it multiplies one input by a constant. With R > 1 it multiplies
        the group's selected input by a weight that a case on the phase selects.
        """
        rf = self.reuse_factor
        name = f"p{index + 1}_{output}_{group}"
        if rf == 1:
            weight = int(weights[output, group])
            if weight == 0:
                return None
            return Product(name, output, group, f"{inputs[group]} * {signed_literal(weight, width)}")
        cases = []
        for phase in range(rf):
            i = self._input_of(index, group, phase)
            weight = int(weights[output, i]) if i is not None else 0
            cases.append((phase, weight))
        if all(weight == 0 for _, weight in cases):
            return None
        weight_width = self.path.weight.width
        literals = [(phase, signed_literal(weight, weight_width)) for phase, weight in cases]
        weight_name = f"w{index + 1}_{output}_{group}"
        return Product(name, output, group, f"a{index + 1}_sel{group} * {weight_name}", literals)

    def _output_value(self, index: int, total: str) -> str:
        """Return what the output register of layer ``index`` loads from the exact sum ``total``."""
        if index == self.n_layers - 1:
            return f"sigmoid_index({total})"
        value = f"activation(code_l{index + 1}({total}))"
        return value if self.path.activation.signed else f"{{1'b0, {value}}}"

    @property
    def sigmoid_sample(self) -> str:
        """Return the sigmoid table variant, config key sigmoid.sample."""
        # NOTE: configs from before the sigmoid.sample key have no sigmoid_sample attribute.
        return getattr(self.config, "sigmoid_sample", "centre")

    def _functions(self, layers: list[Layer]) -> list[VerilogFunction]:
        """Return the rounding functions of the hidden layers and the sigmoid index function."""
        path = self.path
        functions = [
            quantize_function(
                f"code_l{layer.index + 1}",
                f"Q_code of an exact layer-{layer.index + 1} sum ({layer.sum_width} bits, "
                f"{layer.sum_frac} fraction bits)",
                layer.sum_width,
                layer.sum_frac,
                path.code,
            )
            for layer in layers[:-1]
        ]
        functions.append(
            quantize_function(
                "activation", "Q_activation(relu(c)) of a code", path.code.width, path.code.frac,
                path.activation, relu=True,
            )
        )
        out_layer = layers[-1]
        functions.append(
            sigmoid_index_function(
                out_layer.sum_width, out_layer.sum_frac, path.table_size, path.table_range,
                self.sigmoid_sample,
            )
        )
        return functions

    def _table_description(self) -> str:
        path = self.path
        if self.sigmoid_sample == "centre":
            return (
                f"Entry i contains Q_score(sigmoid(-{path.table_range} + (i + 1/2) * "
                f"{2 * path.table_range} / {path.table_size}))"
            )
        return (
            f"Entry i contains hls4ml's sample sigmoid(16 (i - {path.table_size // 2}) / "
            f"{path.table_size}), rounded to the score type"
        )

    def context(self) -> dict:
        """Return the values that the RTL templates use."""
        config, path, rf = self.config, self.path, self.reuse_factor
        layers = [self._layer(i) for i in range(self.n_layers)]
        score = path.score
        table = [(i, bits_literal(int(v), score.width)) for i, v in enumerate(path.sigmoid_table.tolist())]
        return {
            "banner": self.banner,
            "name": config.name,
            "sizes_text": "-".join(str(n) for n in config.sizes),
            "reuse_factor": rf,
            "latency": self.latency,
            "depth": self.sideband_depth,
            "phase_bits": max(1, math.ceil(math.log2(rf))) if rf > 1 else 0,
            "layout": self.layout,
            "score_fields": self._score_fields(),
            "input_width": path.input.width,
            "input_type": path.input.cpp(),
            "weight_type": path.weight.cpp(),
            "bias_type": path.bias.cpp(),
            "code_type": path.code.cpp(),
            "activation_type": path.activation.cpp(),
            "score_type": score.cpp(),
            "layers": layers,
            "functions": self._functions(layers),
            "index_bits": int(math.log2(path.table_size)),
            "table_description": self._table_description(),
            "table_size": path.table_size,
            "score_width": score.width,
            "table": table,
            "table_range": path.table_range,
            "n_multipliers": sum(len(layer.products) for layer in layers),
        }

    def _score_fields(self) -> str:
        """Return the concatenation that forms scores_TDATA from the output registers."""
        layout = self.layout
        fields = []
        top = layout.score_word_bits - 1 - layout.score_step_bit
        if top > 0:
            fields.append(f"{top}'d0")
        fields.append("1'b0")  # weight-step bit: inference never steps
        if layout.score_step_bit - layout.score_event_bit - 1 > 0:
            fields.append(f"{layout.score_step_bit - layout.score_event_bit - 1}'d0")
        fields.append("out_event")
        if layout.score_event_bit - layout.score_width > 0:
            fields.append(f"{layout.score_event_bit - layout.score_width}'d0")
        fields.append("out_score")
        return "{" + ", ".join(fields) + "}"

    # ---- output -----------------------------------------------------------------------

    def render(self, template: str) -> str:
        """Render one template of templates/rtl/ with this design's context."""
        return self.environment.get_template(template).render(self.context())

    def files(self) -> dict[str, str]:
        """Return the generated files: file name -> template."""
        name = self.config.name
        return {f"{name}.v": "top.v.j2", f"{name}_sigmoid.v": "sigmoid.v.j2"}

    def manifest(self) -> dict:
        """Return what rtl.json records about the generated top."""
        layout = self.layout
        return {
            "top": self.config.name,
            "config_sha256": self.config.digest(),
            "parameters_sha256": parameters_digest(self.parameters.to_vector()),
            "reuse_factor": self.reuse_factor,
            "initiation_interval": self.reuse_factor,
            "latency": self.latency,
            "files": list(self.files()),
            "track_word_bits": layout.track_word_bits,
            "score_word_bits": layout.score_word_bits,
        }

    def write(self, out_dir: Path) -> Path:
        """Write the Verilog files and rtl.json into ``out_dir``; return the folder."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        context = self.context()
        for file_name, template in self.files().items():
            text = self.environment.get_template(template).render(context)
            (out_dir / file_name).write_text(text)
        (out_dir / "rtl.json").write_text(json.dumps(self.manifest(), indent=2) + "\n")
        log.info(
            "wrote RTL of %s (reuse factor %d, %d multipliers) into %s",
            self.config.name,
            self.reuse_factor,
            context["n_multipliers"],
            out_dir,
        )
        return out_dir
