"""Print how much of Keras 3's public API nhanh has, module by module.

    python tools/keras_coverage.py             # one line per Keras module
    python tools/keras_coverage.py --missing   # and the names nhanh lacks
    python tools/keras_coverage.py keras.layers keras.losses   # only these modules

The names come from src/nhanh/keras_api_names.json (tools/keras_api_names.py regenerates it).
A name counts when nhanh's counterpart module (keras.X -> nhanh.X) has it; one of the wrong
kind (a function where Keras has a class) is listed, since it would break Keras code.
"""

from __future__ import annotations

import argparse

from nhanh import keras_names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="Keras modules to show (default: all)")
    parser.add_argument("--missing", action="store_true", help="list the names nhanh lacks")
    args = parser.parse_args()

    report = keras_names.coverage()
    total_have = total = 0
    print(f"Keras {keras_names.keras_version()} public names that nhanh has:")
    for keras_module, entry in report.items():
        if args.modules and keras_module not in args.modules:
            continue
        have, n = len(entry["have"]), len(entry["have"]) + len(entry["missing"])
        total_have, total = total_have + have, total + n
        where = "" if entry["module"] else "   (no nhanh module)"
        print(f"  {keras_module:<40} {have:>4}/{n:<4} {100 * have / max(n, 1):5.1f}%{where}")
        for name, want, got in entry["wrong_kind"]:
            print(f"      wrong kind: {name} is a {got} in nhanh, a {want} in Keras")
        if args.missing and entry["missing"]:
            print("      missing: " + ", ".join(entry["missing"]))
    print(f"  {'all':<40} {total_have:>4}/{total:<4} {100 * total_have / max(total, 1):5.1f}%")


if __name__ == "__main__":
    main()
