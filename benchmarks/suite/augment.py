"""
More sentences for the student: copies of the training rows with words swapped for their nearest neighbours in the
model's own word-embedding table (a cheap stand-in for TinyBERT's GloVe + masked-LM substitution, with nothing to
download). A swap can flip a sentence's sentiment ("good" -> "bad" are neighbours), so a copy's inherited label is
only a guess: the distilled student reads the copies without labels and learns them from the teacher alone, the
labels-only twin reads the same copies with the label of the row they came from.
"""

import re

import torch
from torch.utils.data import ConcatDataset, Dataset, Subset

from hf_compress.utils.batching import length_bucketed_order


WORD = re.compile(r"^[a-z]{2,}$")


def neighbour_table(embeddings: torch.Tensor, vocabulary: dict[str, int], neighbours: int, chunk: int = 2048):
    """
    The `neighbours` nearest whole words (cosine similarity of the input embeddings) of every whole-word token.

    Args:
        embeddings (`torch.Tensor` of shape `(vocab_size, hidden)`): the word-embedding table.
        vocabulary (`dict[str, int]`): token -> id (`tokenizer.get_vocab()`).
        neighbours (`int`): how many neighbours per word (the word itself excluded).
        chunk (`int`, defaults to 2048): rows of the similarity matrix computed at once.

    Returns:
        `(table, continuation)`: `table[i]` lists token `i`'s neighbours (`-1` where `i` is not a whole word of two or
        more letters), and `continuation[i]` marks word-piece continuations (`##...`), which end a word's span.
    """
    size = embeddings.shape[0]
    words = torch.tensor(sorted(i for token, i in vocabulary.items() if WORD.match(token) and i < size))
    if len(words) <= neighbours:
        raise ValueError(f"neighbour_table: the vocabulary has {len(words)} whole words, need more than {neighbours}.")
    unit = torch.nn.functional.normalize(embeddings[words].float(), dim=-1)
    table = torch.full((size, neighbours), -1, dtype=torch.long)
    for start in range(0, len(words), chunk):
        similarity = unit[start : start + chunk] @ unit.T
        similarity[torch.arange(similarity.shape[0]), torch.arange(start, start + similarity.shape[0])] = -2.0
        table[words[start : start + chunk]] = words[similarity.topk(neighbours, dim=-1).indices]
    continuation = torch.zeros(size, dtype=torch.bool)
    continuation[[i for token, i in vocabulary.items() if token.startswith("##") and i < size]] = True
    return table, continuation


def swap_words(input_ids: list[int], table: torch.Tensor, continuation: torch.Tensor, probability: float,
               generator: torch.Generator) -> list[int]:  # fmt: skip
    """
    `input_ids` with each single-piece whole word replaced, with `probability`, by one of its neighbours drawn
    uniformly (the length stays the same, so the row's batch bucket does too).
    """
    ids = torch.as_tensor(input_ids).clone()
    follows_piece = torch.zeros_like(ids, dtype=torch.bool)
    follows_piece[:-1] = continuation[ids[1:]]
    swappable = (table[ids, 0] >= 0) & ~follows_piece
    draw = torch.rand(len(ids), generator=generator) < probability
    choice = torch.randint(table.shape[1], (len(ids),), generator=generator)
    chosen = swappable & draw
    ids[chosen] = table[ids[chosen], choice[chosen]]
    return ids.tolist()


class SwappedCopies(Dataset):
    """
    `copies` word-swapped copies of every row of `rows` (tokenized dicts with `input_ids`), drawn from `seed`.

    Args:
        rows: the tokenized training rows.
        table, continuation: `neighbour_table`'s output.
        probability (`float`): chance that a swappable word is replaced.
        copies (`int`): copies per row.
        seed (`int`): seed of the swaps.
        labelled (`bool`): keep the source row's label (the labels-only twin) or drop it (the distilled side, which
            learns the copy from the teacher).
    """

    def __init__(self, rows, table, continuation, probability: float, copies: int, seed: int, labelled: bool):
        generator = torch.Generator().manual_seed(seed)
        self.items = []
        for _ in range(copies):
            for row in rows:
                item = {**row, "input_ids": swap_words(row["input_ids"], table, continuation, probability, generator)}
                if not labelled:
                    item.pop("labels", None)
                self.items.append(item)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def batches_apart(originals, copies, lengths: list[int], batch_size: int, seed: int) -> Subset:
    """
    Originals and copies in one length-bucketed stream whose batches hold only one kind (a batch without labels is
    distilled only, and a padding collator cannot mix rows with and without labels), the batches shuffled together.
    """
    count = len(originals)
    streams = [
        [count * k + i for i in length_bucketed_order(lengths, batch_size, seed + k)]
        for k in range(1 + len(copies) // count)
    ]  # stream 0: the originals, stream k: copy k (its rows at k * count onwards in the concatenation)
    batches = [stream[i : i + batch_size] for stream in streams for i in range(0, len(stream), batch_size)]
    generator = torch.Generator().manual_seed(seed)
    order = [row for index in torch.randperm(len(batches), generator=generator).tolist() for row in batches[index]]
    return Subset(ConcatDataset([originals, copies]), order)
