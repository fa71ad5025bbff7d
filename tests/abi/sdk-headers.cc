// The SDK headers must compile as C++ too: plugin authors write in either.
#include <strand/strand-sdk.h>

static int
run (StrandTask *, const StrandHost *)
{
  return STRAND_OK;
}

static const StrandPort outputs[] = { { "out", STRAND_FORMAT_TEXT, 0, "text" } };

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_MAGIC, STRAND_ABI_MAJOR, STRAND_ABI_MINOR,
  sizeof (StrandStageDescriptor), sizeof (StrandPort), sizeof (StrandParamSpec),
  sizeof (StrandPolicyRule), sizeof (StrandResources),
  "cxx-stage", "1.0.0", "compiled as C++", "MIT", nullptr, 0,
  nullptr, 0, outputs, 1, nullptr, 0, nullptr, 0, nullptr, run, nullptr, nullptr,
};

STRAND_STAGE_DEFINE (descriptor);

int
main ()
{
  return strand_stage_entry ()->magic == STRAND_DESCRIPTOR_MAGIC ? 0 : 1;
}
