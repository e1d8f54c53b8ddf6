#!/usr/bin/env bash
# The plugin SDK from an install: `cmake --install` lays out the header, the CMake package
# and the pkg-config file; the example plugin builds out of tree with each, and the
# installed weft-plugin-test passes it. The same suite refuses plugins built wrong (wrong
# ABI, no entry point, a type declared twice, a type another plugin provides) and plugins
# that break their declaration at run time (an undeclared output, an unset one), each with
# a message naming the plugin and the problem.
. "$(dirname "$0")/lib.sh"
: "${WEFT_TEST_PLUGINS:?}"
cmake --install "$WEFT_BIN/.." --prefix "$T/prefix" >"$T/install.out" 2>&1
expect "cmake --install succeeds" 0 $?
for f in include/weft/plugin.h lib/cmake/WeftPlugin/WeftPluginConfig.cmake \
    lib/pkgconfig/weft-plugin.pc bin/weft bin/weft-plugin-test lib/weft/plugins/embed.so; do
    [ -e "$T/prefix/$f" ] && ok "installed $f" || fail "$f is not installed"
done

cmake -S "$WEFT_SRC/plugins/example" -B "$T/ex" -DCMAKE_PREFIX_PATH="$T/prefix" \
    >"$T/ex.out" 2>&1 && cmake --build "$T/ex" >>"$T/ex.out" 2>&1
expect "the example builds out of tree with find_package(WeftPlugin)" 0 $?
cflags=$(PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig" pkg-config --cflags weft-plugin)
mkdir -p "$T/pc"
cc -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror $cflags -Wl,-z,defs \
    -o "$T/pc/example.so" "$WEFT_SRC/plugins/example/example.c" >"$T/pc.out" 2>&1
expect "the example builds with cc and pkg-config --cflags weft-plugin" 0 $?

wrap_cli "$T/prefix/bin/weft" "$T/cli/installed/weft"
suite() { WEFT="$T/cli/installed/weft" "$T/prefix/bin/weft-plugin-test" "$@"; }
suite "$T/ex/example.so" "$WEFT_SRC/plugins/example/cases.txt" >"$T/suite-ex.out" 2>&1
expect "the installed weft-plugin-test passes the out-of-tree example" 0 $?
expect_grep "with all its cases" "all checks passed \(5 cases\)" "$T/suite-ex.out"
suite "$T/pc/example.so" "$WEFT_SRC/plugins/example/cases.txt" >"$T/suite-pc.out" 2>&1
expect "and the pkg-config build" 0 $?

# refused N PLUGIN PATTERN WHAT [CASES]
refused() {
    suite "$2" ${5:+"$5"} >"$T/refused$1.out" 2>&1
    expect "$4: the suite fails" 1 $?
    expect_grep "$4: named with its problem" "$3" "$T/refused$1.out"
}
refused 1 "$WEFT_TEST_PLUGINS/badabi.so" \
    "FAIL: badabi.so does not load: plugin 'badabi.so' was built for weft plugin ABI 2.0; this executor supports ABI 1.0 to 1.4" \
    "a wrong ABI"
refused 2 "$WEFT_TEST_PLUGINS/noentry.so" \
    "FAIL: noentry.so does not load: plugin 'noentry.so' has no entry point 'weft_plugin_init'" \
    "a missing entry point"
refused 3 "$WEFT_TEST_PLUGINS/duptype.so" \
    "FAIL: duptype.so does not load: plugin 'duptype.so' declares task type 'duptype.a' twice" \
    "a type declared twice"
cp "$T/ex/example.so" "$T/example2.so"
refused 4 "$T/example2.so" \
    "FAIL: plugin 'example2.so' declares task type 'example.wordcount', already provided by 'example.so'" \
    "a type another plugin provides"
printf 'ok misbehave.undeclared | true\nok misbehave.unset | true\n' >"$T/mis.cases"
refused 5 "$WEFT_TEST_PLUGINS/misbehave.so" \
    "plugin 'misbehave' set output 'surprise', which task type 'misbehave.undeclared' does not declare" \
    "an undeclared output" "$T/mis.cases"
expect_grep "an unset output is named too" "plugin returned OK but did not set output 'value'" \
    "$T/refused5.out"
expect_grep "undocumented ports are named" "ports without a doc line: misbehave.unset.value" \
    "$T/refused5.out"
finish
