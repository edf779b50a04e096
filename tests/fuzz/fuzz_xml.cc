// Provider answers in XML: the non-recursive parser, with its size and depth
// bounds, on anything a hostile provider can send.
#include <boost/json/serialize.hpp>

#include "provider/xml.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto v = tollgate::provider::xml_to_json(tollgate::fuzz::as_text(data, size),
                                          tollgate::provider::XmlLimits{.max_bytes = 1 << 16, .max_depth = 64});
  if (v) (void)boost::json::serialize(*v);
  return 0;
}
