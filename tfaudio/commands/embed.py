"""``tfaudio embed RUN_OR_SAVEDMODEL FILES_OR_DIR... --out DIR``: AudioSet-format embeddings."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed", help="embed audio files into AudioSet-format records (one per file)",
        description="Runs a trained run's (or export's) embed signature on whole audio files "
                    "and writes one AudioSet SequenceExample per file: video_id (path "
                    "without extension), start 0 / end = duration, labels (class folder "
                    "names that are labels of the model), one 128-d embedding per 0.96 s "
                    "patch. With --pca (or --pca-fit) the embeddings are PCA-whitened and "
                    "quantised to 128 bytes, as AudioSet's release; without, they are "
                    "float records. Train on them with [data] format = \"audioset\". "
                    "Exit status: 0 all files embedded, 1 some skipped (each named on "
                    "stderr), 2 bad arguments (model, inputs, PCA file).")
    p.add_argument("model", metavar="SAVEDMODEL_OR_RUN",
                   help="run folder (with export/) or an exported SavedModel folder")
    p.add_argument("inputs", nargs="+", metavar="FILES_OR_DIR",
                   help="audio files and/or folders (searched recursively)")
    p.add_argument("--out", required=True, help="folder for the records, summary and labels")
    p.add_argument("--prefix", default="embeddings",
                   help="shard name prefix, e.g. train for train-00000-of-00001.tfrecord "
                        "(default embeddings)")
    pca = p.add_mutually_exclusive_group()
    pca.add_argument("--pca", default=None, metavar="PARAMS.npz",
                     help="PCA parameters (vggish_pca_params.npz layout): write uint8 records")
    pca.add_argument("--pca-fit", default=None, metavar="OUT.npz",
                     help="fit PCA on these files' embeddings, write it to OUT.npz, then "
                          "write uint8 records with it")
    p.add_argument("--no-labels-from-dirs", action="store_true",
                   help="do not label files by their class folder")
    p.add_argument("--shard-size", type=int, default=256, help="records per shard (256)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace <prefix>-*.tfrecord shards already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"tfaudio embed: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from tfaudio.models import load_pca_params
    from tfaudio.train.embed import embed_files
    from tfaudio.train.predict import find_export

    if args.shard_size < 1:
        return _fail(f"--shard-size {args.shard_size}: must be >= 1")
    try:
        find_export(args.model)
    except (FileNotFoundError, ValueError) as err:
        return _fail(f"SAVEDMODEL_OR_RUN: {err}")
    if args.pca:
        try:
            load_pca_params(args.pca)
        except (FileNotFoundError, ValueError, OSError) as err:
            return _fail(f"--pca: {err}")
    try:
        summary = embed_files(args.model, args.inputs, args.out, pca=args.pca,
                              pca_fit=args.pca_fit, labels_from_dirs=not args.no_labels_from_dirs,
                              prefix=args.prefix, shard_size=args.shard_size,
                              overwrite=args.overwrite, progress=not args.quiet)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        return _fail(str(err))
    for bad in summary["skipped"]:
        print(f"tfaudio embed: skipped {bad['file']}: {bad['reason']}", file=sys.stderr)
    pca = f", PCA {summary['pca']}" if summary["pca"] else ""
    print(f"embedded {summary['embedded']} of {summary['inputs']} files "
          f"({len(summary['skipped'])} skipped, {summary['labelled']} labelled): "
          f"{summary['frames']} frames of {summary['patch_seconds']} s, "
          f"{summary['encoding']} records{pca} -> {args.out} "
          f"({len(summary['shards'])} shard(s), {args.prefix}.json)")
    return 1 if summary["skipped"] else 0
