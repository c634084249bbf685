"""Enum values of oneDNN v3.2's C API (``dnnl_types.h``, ``dnnl_common_types.h``) that the
binding uses. Written down by hand from the headers: the wheel ships no headers, and ctypes
cannot read C enums.
"""

MAX_NDIMS = 12  # DNNL_MAX_NDIMS: dnnl_dims_t is int64_t[12]

# dnnl_status_t
SUCCESS, OUT_OF_MEMORY, INVALID_ARGUMENTS, UNIMPLEMENTED = 0, 1, 2, 3
LAST_IMPL_REACHED, RUNTIME_ERROR, NOT_REQUIRED = 4, 5, 6

F32 = 3  # dnnl_data_type_t
CPU = 1  # dnnl_engine_kind_t
STREAM_DEFAULT = 1  # dnnl_stream_flags_t

# dnnl_format_tag_t ("a" = outermost dimension)
ANY = 1
TAG_X = 2  # 1-D (per-channel vectors)
TAG_NC = 3  # 2-D, row-major
TAG_BA = 14  # 2-D, column-major (a transposed row-major matrix)
TAG_NCHW = 5  # abcd: NCHW, OIHW
TAG_GOIHW = 6  # abcde: grouped weights (G, O/G, I/G, KH, KW), laid out as OIHW
TAG_NHWC = 22  # acdb: channels last
TAG_NCHW16C = 78  # aBcd16b: channels blocked by 16 (AVX-512)
TAG_NCHW8C = 102  # aBcd8b: channels blocked by 8 (AVX2)

# dnnl_prop_kind_t
FORWARD_TRAINING, FORWARD_INFERENCE = 64, 96
BACKWARD, BACKWARD_DATA, BACKWARD_WEIGHTS = 128, 160, 192

# dnnl_alg_kind_t
CONVOLUTION_DIRECT = 1
ELTWISE_RELU, ELTWISE_ELU, ELTWISE_GELU_TANH, ELTWISE_GELU_ERF = 32, 34, 43, 49
ELTWISE_CLIP_V2 = 47
ELTWISE_RELU_USE_DST, ELTWISE_ELU_USE_DST, ELTWISE_CLIP_V2_USE_DST = 256, 258, 262
POOLING_MAX, POOLING_AVG_INCLUDE_PADDING, POOLING_AVG_EXCLUDE_PADDING = 0x1FF, 0x2FF, 0x3FF

BINARY_ADD, BINARY_MUL = 0x1FFF0, 0x1FFF1
REDUCTION_SUM = 0x2FFF4  # dnnl_reduction_sum

SCRATCHPAD_USER = 1  # dnnl_scratchpad_mode_t: the caller passes the scratchpad

# dnnl_normalization_flags_t
USE_GLOBAL_STATS, USE_SCALE, USE_SHIFT = 1, 2, 4

# dnnl_query_t
QUERY_IMPL_INFO_STR = 8
QUERY_SRC_MD, QUERY_DIFF_SRC_MD, QUERY_WEIGHTS_MD, QUERY_DIFF_WEIGHTS_MD = 129, 130, 131, 132
QUERY_DST_MD, QUERY_DIFF_DST_MD, QUERY_WORKSPACE_MD, QUERY_SCRATCHPAD_MD = 133, 134, 135, 136

# DNNL_ARG_*: which argument of a primitive a memory object is
ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_BIAS = 1, 17, 33, 41
ARG_MEAN, ARG_VARIANCE, ARG_SCALE, ARG_SHIFT, ARG_WORKSPACE = 49, 50, 51, 52, 64
ARG_SCRATCHPAD = 80
ARG_SRC_0, ARG_SRC_1 = 1, 2
POST_OP_BASE = 32768  # DNNL_ARG_ATTR_MULTIPLE_POST_OP(i) = POST_OP_BASE * (i + 1), v3 headers
ARG_FROM, ARG_TO = 1, 17
ARG_DIFF_SRC, ARG_DIFF_DST, ARG_DIFF_WEIGHTS, ARG_DIFF_BIAS = 129, 145, 161, 169
ARG_DIFF_SCALE, ARG_DIFF_SHIFT = 255, 256

# dnnl_cpu_isa_t, by the name info() reports
ISA_AVX512_CORE = 39  # from here on, oneDNN's kernels block channels by 16 (AVX2: 8)
CPU_ISA = {
    0: "default",
    1: "sse41",
    3: "avx",
    7: "avx2",
    15: "avx2_vnni",
    31: "avx2_vnni_2",
    39: "avx512_core",
    103: "avx512_core_vnni",
    231: "avx512_core_bf16",
    495: "avx512_core_fp16",
    4079: "avx512_core_amx",
    8175: "avx512_core_amx_fp16",
}
