"""How a run names the frames of a config: the dataloader, its data root and its split."""

from mmengine.config import Config

from adcert.pipeline.frames import loader_source


def config(**dataset) -> Config:
    return Config(dict(test_dataloader=dict(dataset=dataset)))


def test_the_source_names_the_dataloader_and_its_split():
    # mmdet names the image folder `img`, mmseg `img_path`
    det = config(type="CocoDataset", data_root="data/demo/",
                 data_prefix=dict(img="leftImg8bit/test/"))
    seg = config(type="CityscapesDataset", data_root="data/demo/",
                 data_prefix=dict(img_path="leftImg8bit/val/", seg_map_path="gtFine/val/"))
    assert loader_source(det) == "test_dataloader (data/demo/, leftImg8bit/test/)"
    assert loader_source(seg) == "test_dataloader (data/demo/, leftImg8bit/val/)"


def test_a_dataset_without_root_or_prefix_is_named_as_well_as_it_can_be():
    assert loader_source(config(type="CocoDataset", ann_file="/data/val.json")) == (
        "test_dataloader (/data/val.json)")
    assert loader_source(config(type="ConcatDataset", datasets=[])) == (
        "test_dataloader (ConcatDataset)")
