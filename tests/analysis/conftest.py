import os

import torch


os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)  # tiny models: threads only add contention on the shared 2-core machine
