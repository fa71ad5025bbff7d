/* Pins the plugin ABI: the size of every public struct and the offset of every
 * member, on LP64 Linux. A failure here means a change broke plugins already
 * built: members may only be appended (and the ABI minor bumped), never moved,
 * resized or removed. Update the pins only together with STRAND_ABI_MINOR. */
#include <glib.h>
#include <strand/strand-sdk.h>

#define PIN_SIZE(type, expected) g_assert_cmpuint (sizeof (type), ==, expected)
#define PIN_OFFSET(type, member, expected) \
  g_assert_cmpuint (offsetof (type, member), ==, expected)

static void
test_abi_version (void)
{
  g_assert_cmpint (STRAND_ABI_MAJOR, ==, 1);
  g_assert_cmpint (STRAND_ABI_MINOR, ==, 2);
  g_assert_cmphex (STRAND_DESCRIPTOR_MAGIC, ==, 0x44525453u);
  g_assert_cmpstr (STRAND_STAGE_ENTRY_SYMBOL, ==, "strand_stage_entry");
}

static void
test_abi_layout (void)
{
  if (sizeof (void *) != 8 || sizeof (long) != 8)
    {
      g_test_skip ("layout pins are for LP64");
      return;
    }
  PIN_SIZE (StrandPort, 32);
  PIN_OFFSET (StrandPort, name, 0);
  PIN_OFFSET (StrandPort, formats, 8);
  PIN_OFFSET (StrandPort, flags, 16);
  PIN_OFFSET (StrandPort, description, 24);
  PIN_SIZE (StrandParamSpec, 56);
  PIN_OFFSET (StrandParamSpec, name, 0);
  PIN_OFFSET (StrandParamSpec, type, 8);
  PIN_OFFSET (StrandParamSpec, flags, 12);
  PIN_OFFSET (StrandParamSpec, description, 16);
  PIN_OFFSET (StrandParamSpec, default_value, 24);
  PIN_OFFSET (StrandParamSpec, min, 32);
  PIN_OFFSET (StrandParamSpec, max, 40);
  PIN_OFFSET (StrandParamSpec, choices, 48);
  PIN_SIZE (StrandResources, 48);
  PIN_OFFSET (StrandResources, cores, 0);
  PIN_OFFSET (StrandResources, gpus, 4);
  PIN_OFFSET (StrandResources, memory_bytes, 8);
  PIN_OFFSET (StrandResources, scratch_bytes, 16);
  PIN_OFFSET (StrandResources, output_bytes, 24);
  PIN_OFFSET (StrandResources, expected_seconds, 32);
  PIN_OFFSET (StrandResources, equipment_class, 40);
  PIN_SIZE (StrandPolicyRule, 32);
  PIN_OFFSET (StrandPolicyRule, error_class, 0);
  PIN_OFFSET (StrandPolicyRule, action, 4);
  PIN_OFFSET (StrandPolicyRule, max_attempts, 8);
  PIN_OFFSET (StrandPolicyRule, backoff_ms, 12);
  PIN_OFFSET (StrandPolicyRule, escalate_factor, 16);
  PIN_OFFSET (StrandPolicyRule, fallback_plugin, 24);
  PIN_SIZE (StrandStageDescriptor, 168);
  PIN_OFFSET (StrandStageDescriptor, magic, 0);
  PIN_OFFSET (StrandStageDescriptor, abi_major, 4);
  PIN_OFFSET (StrandStageDescriptor, abi_minor, 6);
  PIN_OFFSET (StrandStageDescriptor, struct_size, 8);
  PIN_OFFSET (StrandStageDescriptor, port_size, 12);
  PIN_OFFSET (StrandStageDescriptor, param_size, 14);
  PIN_OFFSET (StrandStageDescriptor, rule_size, 16);
  PIN_OFFSET (StrandStageDescriptor, resources_size, 18);
  PIN_OFFSET (StrandStageDescriptor, name, 24);
  PIN_OFFSET (StrandStageDescriptor, version, 32);
  PIN_OFFSET (StrandStageDescriptor, description, 40);
  PIN_OFFSET (StrandStageDescriptor, license, 48);
  PIN_OFFSET (StrandStageDescriptor, url, 56);
  PIN_OFFSET (StrandStageDescriptor, flags, 64);
  PIN_OFFSET (StrandStageDescriptor, inputs, 72);
  PIN_OFFSET (StrandStageDescriptor, n_inputs, 80);
  PIN_OFFSET (StrandStageDescriptor, outputs, 88);
  PIN_OFFSET (StrandStageDescriptor, n_outputs, 96);
  PIN_OFFSET (StrandStageDescriptor, params, 104);
  PIN_OFFSET (StrandStageDescriptor, n_params, 112);
  PIN_OFFSET (StrandStageDescriptor, policy, 120);
  PIN_OFFSET (StrandStageDescriptor, n_policy, 128);
  PIN_OFFSET (StrandStageDescriptor, resources, 136);
  PIN_OFFSET (StrandStageDescriptor, run, 144);
  PIN_OFFSET (StrandStageDescriptor, validate, 152);
  PIN_OFFSET (StrandStageDescriptor, cancel, 160);
  PIN_SIZE (StrandCommand, 16);
  PIN_OFFSET (StrandCommand, argv, 0);
  PIN_OFFSET (StrandCommand, version_argv, 8);
  PIN_SIZE (StrandToolRun, 32);
  PIN_OFFSET (StrandToolRun, struct_size, 0);
  PIN_OFFSET (StrandToolRun, stdin_path, 8);
  PIN_OFFSET (StrandToolRun, stdout_path, 16);
  PIN_OFFSET (StrandToolRun, stderr_path, 24);
  PIN_SIZE (StrandHost, 216);
  PIN_OFFSET (StrandHost, struct_size, 0);
  PIN_OFFSET (StrandHost, abi_major, 4);
  PIN_OFFSET (StrandHost, abi_minor, 6);
  PIN_OFFSET (StrandHost, log, 8);
  PIN_OFFSET (StrandHost, fail, 16);
  PIN_OFFSET (StrandHost, sample_id, 24);
  PIN_OFFSET (StrandHost, sample_meta, 32);
  PIN_OFFSET (StrandHost, cores, 40);
  PIN_OFFSET (StrandHost, memory_bytes, 48);
  PIN_OFFSET (StrandHost, attempt, 56);
  PIN_OFFSET (StrandHost, param_string, 64);
  PIN_OFFSET (StrandHost, param_int, 72);
  PIN_OFFSET (StrandHost, param_double, 80);
  PIN_OFFSET (StrandHost, param_bool, 88);
  PIN_OFFSET (StrandHost, input_count, 96);
  PIN_OFFSET (StrandHost, input_path, 104);
  PIN_OFFSET (StrandHost, input_format, 112);
  PIN_OFFSET (StrandHost, output_path, 120);
  PIN_OFFSET (StrandHost, progress, 128);
  PIN_OFFSET (StrandHost, cancelled, 136);
  PIN_OFFSET (StrandHost, scratch_dir, 144);
  PIN_OFFSET (StrandHost, run_tool, 152);
  PIN_OFFSET (StrandHost, metric, 160);
  PIN_OFFSET (StrandHost, run_sample_count, 168);
  PIN_OFFSET (StrandHost, run_sample_id, 176);
  PIN_OFFSET (StrandHost, run_sample_meta, 184);
  PIN_OFFSET (StrandHost, sample_output_path, 192);
  PIN_OFFSET (StrandHost, input_sample, 200);
  PIN_OFFSET (StrandHost, stop_tools, 208);
  g_assert_cmpuint (STRAND_DESCRIPTOR_MIN_SIZE, ==, 152);
}

/* Enum values cross the boundary as integers: they are part of the ABI. */
static void
test_abi_enums (void)
{
  g_assert_cmpint (STRAND_OK, ==, 0);
  g_assert_cmpint (STRAND_E_FAILED, ==, -1);
  g_assert_cmpint (STRAND_E_UNSUPPORTED, ==, -9);
  g_assert_cmpint (STRAND_ERROR_TRANSIENT, ==, 1);
  g_assert_cmpint (STRAND_ERROR_INTERNAL, ==, 10);
  g_assert_cmpint (STRAND_PARAM_BOOL, ==, 1);
  g_assert_cmpint (STRAND_PARAM_PATH, ==, 6);
  g_assert_cmpint (STRAND_ACTION_FAIL_SAMPLE, ==, 0);
  g_assert_cmpint (STRAND_ACTION_CONTINUE, ==, 6);
  g_assert_cmpuint (STRAND_PORT_OPTIONAL, ==, 1);
  g_assert_cmpuint (STRAND_PORT_MULTIPLE, ==, 2);
  g_assert_cmpuint (STRAND_STAGE_DETERMINISTIC, ==, 1);
  g_assert_cmpuint (STRAND_STAGE_PER_RUN, ==, 2);
  /* The SDK's errno classification, which every plugin's I/O failures use. */
  g_assert_cmpint (strand_error_class_from_errno (ENOSPC), ==, STRAND_ERROR_STORAGE);
  g_assert_cmpint (strand_error_class_from_errno (EDQUOT), ==, STRAND_ERROR_STORAGE);
  g_assert_cmpint (strand_error_class_from_errno (ENOMEM), ==, STRAND_ERROR_RESOURCE);
  g_assert_cmpint (strand_error_class_from_errno (EIO), ==, STRAND_ERROR_TRANSIENT);
}

/* A plugin built against a newer SDK probes the host table before calling a
 * member an older host lacks. */
static void
test_host_has (void)
{
  StrandHost host = { 0 };
  host.struct_size = offsetof (StrandHost, run_tool);
  g_assert_true (STRAND_HOST_HAS (&host, scratch_dir));
  g_assert_false (STRAND_HOST_HAS (&host, run_tool));
  g_assert_false (STRAND_HOST_HAS (&host, metric));
  host.struct_size = offsetof (StrandHost, run_sample_count);
  g_assert_true (STRAND_HOST_HAS (&host, metric));
  g_assert_false (STRAND_HOST_HAS (&host, sample_output_path));
  host.struct_size = offsetof (StrandHost, stop_tools); /* a 1.1 host */
  g_assert_true (STRAND_HOST_HAS (&host, input_sample));
  g_assert_false (STRAND_HOST_HAS (&host, stop_tools));
  host.struct_size = sizeof (StrandHost);
  g_assert_true (STRAND_HOST_HAS (&host, stop_tools));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/abi/version", test_abi_version);
  g_test_add_func ("/abi/layout", test_abi_layout);
  g_test_add_func ("/abi/enums", test_abi_enums);
  g_test_add_func ("/abi/host-has", test_host_has);
  return g_test_run ();
}
