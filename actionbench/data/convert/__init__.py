"""Converters from the official annotation files of each dataset to actionbench's lists.

One module per dataset family; its docstring says which files it reads and which label
convention it follows (that of the reference implementations, so that released checkpoints'
class indices line up). `pipeline.convert` finds the videos and writes the lists.
"""

from __future__ import annotations

from . import diving48, hmdb51, kinetics, something, ucf101
from .common import Converter

CONVERTERS: dict[str, Converter] = {
    "ssv1": Converter(something.read_ssv1, "something-something-v1-{labels,train,validation,test}.csv"),
    "ssv2": Converter(something.read_ssv2, "something-something-v2-{labels,train,validation,test}.json"),
    "jester": Converter(something.read_jester, "jester-v1-{labels,train,validation,test}.csv"),
    "kinetics400": Converter(kinetics.read, "train.csv, validate.csv (or val.csv), test.csv"),
    "ucf101": Converter(ucf101.read, "classInd.txt, trainlist0N.txt, testlist0N.txt", splits=3),
    "hmdb51": Converter(hmdb51.read, "<class>_test_splitN.txt for every class", splits=3),
    "diving48": Converter(diving48.read, "Diving48_V2_{train,test}.json, Diving48_vocab.json"),
}
"""Dataset name -> its converter; subsets (catalog `subset_of`) use their full dataset's."""
