"""`doxygen_html`: the API reference of some cc_library targets, as a directory of HTML."""

def _doxygen_html_impl(ctx):
    # The headers of the main repository that the libraries carry, transitively (system
    # headers are not files of the build; third_party targets carry none).
    headers = [
        f
        for dep in ctx.attr.deps
        for f in dep[CcInfo].compilation_context.headers.to_list()
        if f.is_source and f.owner.workspace_name == "" and f.short_path.startswith(ctx.attr.prefix)
    ]
    out = ctx.actions.declare_directory(ctx.label.name)
    warnings = ctx.actions.declare_file(ctx.label.name + "_warnings.txt")
    ctx.actions.run_shell(
        inputs = depset([ctx.file.doxyfile] + ctx.files.srcs + headers),
        outputs = [out, warnings],
        arguments = [ctx.file.doxyfile.path, out.path, warnings.path, warnings.short_path],
        # The checked-in Doxyfile names the inputs relative to the workspace root (the
        # working directory of the action); the output locations are the rule's.
        command = """
set -eu
doxyfile=$1 out=$2 warnings=$3
{ cat "$doxyfile"; echo "OUTPUT_DIRECTORY = $out"; echo "WARN_LOGFILE = $warnings.tmp"; } | doxygen -
test -f "$out/html/index.html"
# Warnings name the files relative to the workspace root, not to this action's sandbox.
sed "s|$PWD/||g" "$warnings.tmp" > "$warnings"
rm "$warnings.tmp"
count=$(grep -c 'warning:' "$warnings" || true)
if [ "$count" -gt 0 ]; then
    echo "doxygen: $count warning(s), listed in bazel-bin/$4"
fi
""",
        mnemonic = "Doxygen",
        progress_message = "Generating the API reference of %s with Doxygen" % ctx.label,
        use_default_shell_env = True,
    )
    return [DefaultInfo(
        files = depset([out, warnings]),
        runfiles = ctx.runfiles(files = [out, warnings]),
    )]

doxygen_html = rule(
    implementation = _doxygen_html_impl,
    doc = "Runs Doxygen over the headers of `deps`; outputs `<name>/html/` and `<name>_warnings.txt`.",
    attrs = {
        "doxyfile": attr.label(allow_single_file = True, mandatory = True),
        "srcs": attr.label_list(allow_files = True, doc = "Further inputs: Markdown pages."),
        "deps": attr.label_list(providers = [CcInfo], doc = "Libraries whose headers are documented."),
        "prefix": attr.string(default = "garage/", doc = "Only headers under this path are documented."),
    },
)
