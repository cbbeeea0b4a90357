#include "redis/packed_value.h"

#include <zstd.h>

#include <memory>

namespace lapor::redis {

namespace {
// Level 1: the fastest of zstd's levels; on routing's stored outputs it already keeps about a
// sixth of the bytes (docs/performance.md).
constexpr int kLevel = 1;
constexpr unsigned char kMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};  // ZSTD_MAGICNUMBER, little-endian
}  // namespace

bool isPacked(std::string_view stored) {
  if (stored.size() < sizeof(kMagic)) return false;
  for (size_t i = 0; i < sizeof(kMagic); ++i)
    if (static_cast<unsigned char>(stored[i]) != kMagic[i]) return false;
  return true;
}

std::string packValue(std::string_view value) {
  if (value.size() < kPackFrom) return std::string(value);
  // One context per thread, kept: a fresh one per call would allocate its tables every time.
  // Each frame carries a checksum of its content, so a damaged record fails to unpack instead
  // of reading as other bytes.
  thread_local const std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> ctx = [] {
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> c(ZSTD_createCCtx(), &ZSTD_freeCCtx);
    if (c) {
      ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, kLevel);
      ZSTD_CCtx_setParameter(c.get(), ZSTD_c_checksumFlag, 1);
    }
    return c;
  }();
  if (!ctx) return std::string(value);
  std::string out(ZSTD_compressBound(value.size()), '\0');
  const size_t n = ZSTD_compress2(ctx.get(), out.data(), out.size(), value.data(), value.size());
  if (ZSTD_isError(n) || n >= value.size()) return std::string(value);
  out.resize(n);
  return out;
}

std::optional<std::string> unpackValue(std::string_view stored) {
  if (!isPacked(stored)) return std::string(stored);
  const unsigned long long size = ZSTD_getFrameContentSize(stored.data(), stored.size());
  // Every frame packValue writes records its size; 64 MiB bounds what a damaged header asks.
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (64u << 20))
    return std::nullopt;
  thread_local std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(),
                                                                        &ZSTD_freeDCtx);
  std::string out(size, '\0');
  const size_t n =
      ctx ? ZSTD_decompressDCtx(ctx.get(), out.data(), out.size(), stored.data(), stored.size())
          : ZSTD_decompress(out.data(), out.size(), stored.data(), stored.size());
  if (ZSTD_isError(n) || n != size) return std::nullopt;
  return out;
}

}  // namespace lapor::redis
