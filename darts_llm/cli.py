"""The ``darts-llm`` command.

Every subcommand imports what it needs when it runs: ``darts-llm --version`` and ``--help`` load neither
PyTorch nor Darts, and ``list`` loads only what the registry needs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

#: Environment variable naming darts-llm's cache root (the embedding cache lives in ``embeddings/`` below it).
ENV_CACHE_DIR = "DARTS_LLM_CACHE_DIR"


def _version() -> str:
    from darts_llm import __version__

    return __version__


def _cmd_list(args: argparse.Namespace) -> int:
    from darts_llm.plugins import get_plugins
    from darts_llm.registry import list_encoders, list_model_names

    print("Encoders:")
    for name, description in list_encoders().items():
        print(f"  {name:22s} {description}")
    print("Models:")
    for name, where in list_model_names().items():  # nothing imported: `list` stays fast
        print(f"  {name:22s} {where.partition(':')[0]}")
    print("Plugins:")
    for info in get_plugins():
        print(f"  {info['name']}")
    return 0


def _cmd_encode(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from darts_llm.cache import EmbeddingCache
    from darts_llm.registry import get_encoder

    frame = pd.read_csv(args.csv)
    if args.column not in frame.columns:
        print(f"error: column {args.column!r} not in {args.csv}; columns: {list(frame.columns)}", file=sys.stderr)
        return 2
    texts = frame[args.column].where(frame[args.column].notna(), None).tolist()
    texts = [t if t is None or isinstance(t, str) else str(t) for t in texts]
    cache = EmbeddingCache(args.cache_dir) if args.cache_dir else EmbeddingCache()
    vectors = cache.encode(get_encoder(args.encoder), texts, batch_size=args.batch_size, show_progress=True)
    if args.output:
        np.save(args.output, vectors)
        print(f"Wrote {vectors.shape[0]} x {vectors.shape[1]} embeddings to {args.output}")
    if args.cache_dir:
        print(f"Embeddings cached under {args.cache_dir} ({cache.misses} encoded, {cache.hits} already cached)")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from darts_llm.demo import run_demo

    return run_demo(data=args.data, output=args.output, quick=args.quick)


# ------------------------------------------------------------------------------------------------ cache
def default_cache_dir() -> Path:
    """The on-disk embedding cache: ``$DARTS_LLM_CACHE_DIR/embeddings``, else ``~/.cache/darts_llm/embeddings``.

    ``$DARTS_LLM_CACHE_DIR/embeddings`` is where :func:`darts_llm.default_cache` writes when the variable is set.
    """
    root = os.environ.get(ENV_CACHE_DIR)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "darts_llm"
    return base / "embeddings"


def _human_size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


class CacheDirectory:
    """What an on-disk :class:`~darts_llm.cache.EmbeddingCache` directory holds, and removing it.

    The cache writes one folder per encoder and ``.npz`` shards in it, each naming its encoder id. This
    reads only the shards' ids and text keys (never the vectors) and deletes only shard files.

    Parameters
    ----------
    directory
        The folder given to ``EmbeddingCache(directory=...)``.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory).expanduser()

    def _shards(self) -> list[tuple[Path, str | None, list[str]]]:
        """(file, encoder id or ``None`` if unreadable or foreign, text keys) of every shard."""
        import numpy as np

        from darts_llm.cache import _MAGIC

        out = []
        for path in sorted(self.directory.glob("*/*.npz")) if self.directory.is_dir() else []:
            try:
                with np.load(path, allow_pickle=False) as data:
                    ok = str(data["magic"]) == _MAGIC
                    owner = str(data["encoder_id"]) if ok else None
                    keys = [str(k) for k in data["keys"]] if ok else []
            except Exception:  # noqa: BLE001 - the cache ignores such files too
                owner, keys = None, []
            out.append((path, owner, keys))
        return out

    def info(self) -> dict:
        """Directory, whether it exists, files, bytes, distinct embeddings, per-encoder counts, unreadable files."""
        encoders: dict[str, dict] = {}
        keys: dict[str, set] = {}
        total_bytes, unreadable = 0, 0
        shards = self._shards()
        for path, owner, shard_keys in shards:
            size = path.stat().st_size
            total_bytes += size
            if owner is None:
                unreadable += 1
                continue
            row = encoders.setdefault(owner, {"entries": 0, "files": 0, "bytes": 0})
            row["files"] += 1
            row["bytes"] += size
            keys.setdefault(owner, set()).update(shard_keys)
        for owner, row in encoders.items():
            row["entries"] = len(keys[owner])
        return {
            "directory": str(self.directory),
            "exists": self.directory.is_dir(),
            "files": len(shards),
            "bytes": total_bytes,
            "entries": sum(row["entries"] for row in encoders.values()),
            "encoders": dict(sorted(encoders.items())),
            "unreadable": unreadable,
        }

    def clear(self, encoder: str | None = None) -> dict:
        """Delete the shards of every encoder, or of the one ``encoder`` names; returns what was removed.

        ``encoder`` is a full encoder id, or a part of one that matches exactly one encoder present.
        Clearing everything also removes unreadable shards. Raises ``KeyError`` (naming the encoders present)
        when ``encoder`` matches none or several.
        """
        shards = self._shards()
        if encoder is not None:
            present = sorted({owner for _, owner, _ in shards if owner is not None})
            matches = [e for e in present if e == encoder] or [e for e in present if encoder in e]
            if len(matches) != 1:
                problem = "matches no encoder" if not matches else f"matches {len(matches)} encoders"
                raise KeyError(
                    f"`--encoder` {encoder!r} {problem} in {self.directory}; pass one of the ids that "
                    f"`darts-llm cache info` prints: {present}"
                )
            shards = [s for s in shards if s[1] == matches[0]]
        removed = {"files": 0, "entries": 0, "bytes": 0}
        for path, _, keys in shards:
            removed["bytes"] += path.stat().st_size
            removed["entries"] += len(keys)
            path.unlink()
            removed["files"] += 1
            try:
                path.parent.rmdir()  # only once the encoder's folder is empty
            except OSError:
                pass
        return removed


def _cmd_cache_info(args: argparse.Namespace) -> int:
    info = CacheDirectory(args.cache_dir or default_cache_dir()).info()
    print(f"Directory: {info['directory']}{'' if info['exists'] else ' (does not exist yet)'}")
    print(f"Entries:   {info['entries']} embeddings in {info['files']} files")
    print(f"Size:      {_human_size(info['bytes'])}")
    print("Encoders:" if info["encoders"] else "Encoders:  none")
    for encoder_id, row in info["encoders"].items():
        print(f"  {encoder_id}  {row['entries']} embeddings, {_human_size(row['bytes'])}")
    if info["unreadable"]:
        print(f"Unreadable files (ignored by the cache, removed by `darts-llm cache clear`): {info['unreadable']}")
    return 0


def _cmd_cache_clear(args: argparse.Namespace) -> int:
    cache = CacheDirectory(args.cache_dir or default_cache_dir())
    try:
        removed = cache.clear(encoder=args.encoder)
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2
    what = f"encoder(s) matching {args.encoder!r}" if args.encoder else "all encoders"
    print(f"Removed {removed['files']} files ({removed['entries']} embeddings, {_human_size(removed['bytes'])}) "
          f"of {what} from {cache.directory}")
    return 0


# ------------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="darts-llm", description="Text as a covariate for Darts forecasting models."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="does the text help? TextTiDE against its no-text twin on established and "
                          "on new products of a real shop")
    demo.add_argument("--data", default=None, help="Online Retail file (else $DARTS_LLM_ONLINE_RETAIL, "
                      "the UCI download, or the bundled synthetic catalog)")
    demo.add_argument("--output", default="darts_llm_demo", help="folder for the plot and the table")
    demo.add_argument("--quick", action="store_true", help="fewer series and epochs")
    demo.set_defaults(func=_cmd_demo)

    encode = sub.add_parser("encode", help="encode a CSV text column into embeddings (and the cache)")
    encode.add_argument("csv")
    encode.add_argument("--column", required=True)
    encode.add_argument("--encoder", default=None, help="alias, Hugging Face id or local directory")
    encode.add_argument("--cache-dir", default=None)
    encode.add_argument("--output", default=None, help=".npy file for the embedding matrix")
    encode.add_argument("--batch-size", type=int, default=64)
    encode.set_defaults(func=_cmd_encode)

    from darts_llm.compare_command import add_compare_parser

    add_compare_parser(sub)

    lst = sub.add_parser("list", help="list encoders, models and plugins")
    lst.set_defaults(func=_cmd_list)

    cache = sub.add_parser("cache", help="inspect or clear the on-disk embedding cache")
    cache_sub = cache.add_subparsers(dest="cache_command", required=True)
    dir_help = (f"cache directory (default: ${ENV_CACHE_DIR}/embeddings, else ~/.cache/darts_llm/embeddings; "
                "the folder given to `encode --cache-dir` or `EmbeddingCache(directory=...)`)")
    info = cache_sub.add_parser("info", help="directory, number of embeddings, size and encoders present")
    info.add_argument("--cache-dir", default=None, help=dir_help)
    info.set_defaults(func=_cmd_cache_info)
    clear = cache_sub.add_parser("clear", help="delete cached embeddings (all, or one encoder's)")
    clear.add_argument("--cache-dir", default=None, help=dir_help)
    clear.add_argument("--encoder", default=None, metavar="ID",
                       help="only this encoder: its full id as `cache info` prints it, or a part of it "
                            "that names one encoder (e.g. all-MiniLM-L6-v2)")
    clear.set_defaults(func=_cmd_cache_clear)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
